import sys

from deploy_tools.capacity.cli import main

sys.exit(main())
