package stats

import "strconv"

// indexField names element i of a list input, e.g. "scores[3]", so an error
// points at the exact bad answer.
func indexField(name string, i int) string {
	return name + "[" + strconv.Itoa(i) + "]"
}
