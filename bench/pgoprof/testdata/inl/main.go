// A program for TestInlining: main.inner is inlined into main.outer and
// calls main.leaf, which is not inlined.
package main

var sink int

//go:noinline
func leaf(x int) int { return x * 3 }

func inner(x int) int {
	return leaf(x) + 1 // leafCall
}

//go:noinline
func outer(x int) int {
	return inner(x) * 2
}

func main() { sink = outer(sink) }
