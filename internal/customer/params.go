package customer

import "github.com/kizuna-oss/kizuna/internal/db"

// positional is db.Rebind: $N placeholders become ? on SQLite, which looks
// numbered parameters up linearly (quadratic in multi-row statements).
func positional(d db.Dialect, q string) string { return db.Rebind(d, q) }

// valuesRows is db.Rows: "($1, $2), ($3, $4), …", cached per shape.
func valuesRows(rows, width int) string { return db.Rows(rows, width) }
