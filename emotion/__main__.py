import sys

from hypeline_cli.main import main

sys.exit(main())
