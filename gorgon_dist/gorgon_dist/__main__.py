"""`mpiexec -n N python -m gorgon_dist script.py [args...]`: run a script as N ranks,
naming any rank that dies (see gorgon_dist.supervise)."""

import sys

from gorgon_dist.supervise import main

sys.exit(main(sys.argv[1:]))
