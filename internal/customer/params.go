package customer

import (
	"strconv"
	"sync"

	"github.com/kizuna-oss/kizuna/internal/db"
)

// positional rewrites a statement's $1, $2, … placeholders to plain ? for
// SQLite when they occur exactly once each, in order. SQLite treats "$N" as
// a named parameter and resolves every name by a linear scan, at prepare
// time and again at bind time, so a multi-row statement with thousands of
// $N parameters costs quadratic time (it dominated ResolveTx: 57% of the
// CPU in parsing alone). Anonymous "?" parameters are numbered in order at
// no cost. The SQL text stays the one portable text; only the placeholder
// spelling changes, and any statement that reuses or reorders a parameter
// is left as written. (A candidate for internal/db, where every bulk
// writer would benefit.)
func positional(d db.Dialect, q string) string {
	if d != db.SQLite {
		return q
	}
	out := make([]byte, 0, len(q))
	want := 1
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c != '$' || i+1 >= len(q) || q[i+1] < '0' || q[i+1] > '9' {
			out = append(out, c)
			continue
		}
		j, n := i+1, 0
		for j < len(q) && q[j] >= '0' && q[j] <= '9' {
			n = n*10 + int(q[j]-'0')
			j++
		}
		if n != want {
			return q
		}
		want++
		out = append(out, '?')
		i = j - 1
	}
	return string(out)
}

// rowsCache holds the placeholder lists multi-row statements use; batch
// sizes repeat, so each shape is built once (db.Rows formats every
// placeholder with fmt, which showed at 15% of ResolveTx).
var rowsCache sync.Map // [2]int{rows, width} → string

// valuesRows is db.Rows, cached: "($1, $2), ($3, $4), …".
func valuesRows(rows, width int) string {
	key := [2]int{rows, width}
	if s, ok := rowsCache.Load(key); ok {
		return s.(string)
	}
	b := make([]byte, 0, rows*width*7)
	n := 1
	for r := 0; r < rows; r++ {
		if r > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '(')
		for c := 0; c < width; c++ {
			if c > 0 {
				b = append(b, ", "...)
			}
			b = append(b, '$')
			b = strconv.AppendInt(b, int64(n), 10)
			n++
		}
		b = append(b, ')')
	}
	s := string(b)
	rowsCache.Store(key, s)
	return s
}
