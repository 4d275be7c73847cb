package rvasm

import "flag"

var update = flag.Bool("update", false, "rewrite testdata/golden.txt from binutils")
