package customer

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// lockRoot takes the row lock of a profile on Postgres (SQLite's writer lock
// already covers the whole database) and reports its merged_into after the
// lock: a profile that another transaction merged meanwhile is not a root
// any more. The no-op UPDATE is the portable form of SELECT … FOR UPDATE.
func lockRoot(ctx context.Context, tx *db.Tx, id int64) (parent int64, err error) {
	var p sql.NullInt64
	err = tx.QueryRowContext(ctx, `UPDATE customers SET updated_at = updated_at WHERE id = $1 RETURNING merged_into`, id).Scan(&p)
	if err == sql.ErrNoRows {
		return 0, kizuna.Errorf(kizuna.ENOTFOUND, "customer %d not found", id)
	}
	if err != nil {
		return 0, fmt.Errorf("lock customer %d: %w", id, err)
	}
	return p.Int64, nil
}

// mergeRows moves the loser's group (the loser and every profile merged into
// it) under the winner, both roots, records the merge with what an unmerge
// needs and writes the audit row. The winner's filled fields are written by
// the caller. lockW/lockL say which of the two are stored rows that must be
// locked and re-checked (profiles the same batch created need not be).
func mergeRows(ctx context.Context, tx *db.Tx, winner, loser int64, lockW, lockL bool, rec mergeRecord, reason string, automatic bool) (*Merge, error) {
	order := []int64{winner, loser}
	slices.Sort(order) // one lock order for every node: no deadlock between two merges
	for _, id := range order {
		if (id == winner && !lockW) || (id == loser && !lockL) {
			continue
		}
		parent, err := lockRoot(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if parent != 0 {
			return nil, errRaced
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT id FROM customers WHERE merged_into = $1 ORDER BY id`, loser)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	members, err := scanIDs(rows)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	moved := append([]int64{loser}, members...)
	if _, err := tx.ExecContext(ctx, `UPDATE customers SET merged_into = $1, updated_at = $2 WHERE id = $3 OR merged_into = $3`,
		winner, tx.NowMS(), loser); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	movedJSON, _ := json.Marshal(moved)
	recJSON, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	_, _, label, _ := actor(ctx)
	m := &Merge{WinnerID: winner, LoserID: loser, Reason: reason, Actor: label, CreatedAt: tx.Now}
	if err := tx.QueryRowContext(ctx, `INSERT INTO customer_merges (winner_id, loser_id, moved_ids, winner_before, reason, actor, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		winner, loser, string(movedJSON), string(recJSON), reason, label, tx.NowMS()).Scan(&m.ID); err != nil {
		return nil, fmt.Errorf("merge: record: %w", err)
	}
	detail := map[string]any{
		"merge_id": m.ID, "winner_id": winner, "loser_id": loser, "moved_ids": moved,
		"reason": reason, "automatic": automatic, "filled": slices.Sorted(maps.Keys(rec.Filled)),
	}
	if err := writeAudit(ctx, tx, "customer.merge", strconv.FormatInt(winner, 10), detail); err != nil {
		return nil, err
	}
	return m, nil
}
