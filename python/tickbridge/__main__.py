import sys

from tickbridge.cli import main

sys.exit(main())
