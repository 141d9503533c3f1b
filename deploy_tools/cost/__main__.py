from deploy_tools.cost.cli import main

raise SystemExit(main())
