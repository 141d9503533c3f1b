"""What the tests' local HTTP stand-ins share."""

#: ``serve_forever``'s poll interval: ``shutdown()`` returns at the next poll, so the default
#: (0.5 s) cost half a second in every test that stops a stand-in.
POLL_S = 0.05
