import sys

from dream_keras.cli import main

sys.exit(main())
