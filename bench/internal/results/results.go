// Package results reads what the benchmarks' guest programs print: one
// "name value" line per measurement, among whatever else the console
// shows (firmware banners, kernel lines).
package results

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// Parse returns the value of each "name value" line of out (a later line
// of the same name wins) and the names in the order they first appeared.
// Lines of another shape, and negative or unparsable values, are skipped.
func Parse(out []byte) (map[string]float64, []string) {
	res := map[string]float64{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil || v < 0 {
			continue
		}
		if _, seen := res[f[0]]; !seen {
			order = append(order, f[0])
		}
		res[f[0]] = v
	}
	return res, order
}
