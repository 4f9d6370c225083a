package customer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// lockRoot takes the row lock of a profile on Postgres (SQLite's writer lock
// already covers the whole database) and reports its merged_into after the
// lock: a profile that another transaction merged meanwhile is not a root
// any more. The no-op UPDATE is the portable form of SELECT … FOR UPDATE.
func lockRoot(ctx context.Context, tx *db.Tx, id int64) (parent int64, err error) {
	var p sql.NullInt64
	err = tx.QueryRowContext(ctx, `UPDATE customers SET updated_at = updated_at WHERE id = $1 RETURNING merged_into`, id).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
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
	// Two statements, each on its own index (an OR over id and merged_into
	// can scan the table); merged_into stays flat: always a root.
	for _, q := range []string{
		`UPDATE customers SET merged_into = $1, updated_at = $2 WHERE merged_into = $3`,
		`UPDATE customers SET merged_into = $1, updated_at = $2 WHERE id = $3`,
	} {
		if _, err := tx.ExecContext(ctx, q, winner, tx.NowMS(), loser); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
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
	if err := writeAudit(ctx, tx, auth.ActionCustomerMerge, strconv.FormatInt(winner, 10), detail); err != nil {
		return nil, err
	}
	return m, nil
}

// Merge merges loser into winner by hand: the winner survives whatever its
// age, and its blank fields are filled from the loser. Either id may name a
// merged profile; its canonical customer is used. Unlike automatic merges,
// a manager may merge two customers with different user ids. Errors:
// EINVALID (reason), ENOTFOUND, ECONFLICT (already one customer).
// [customers.merge]
func (s *Service) Merge(ctx context.Context, winnerID, loserID int64, reason string) (*Merge, error) {
	if err := auth.Require(ctx, auth.PermCustomersMerge); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, kizuna.FieldError("reason", "say why these customers are the same person")
	}
	if len(reason) > 1000 {
		return nil, kizuna.FieldError("reason", "reason is longer than 1000 characters")
	}
	var out *Merge
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		w, err := canonicalID(ctx, tx, winnerID)
		if err != nil {
			return err
		}
		l, err := canonicalID(ctx, tx, loserID)
		if err != nil {
			return err
		}
		if w == l {
			return kizuna.Errorf(kizuna.ECONFLICT, "customers %d and %d are already one customer (%d)", winnerID, loserID, w)
		}
		for _, id := range []int64{min(w, l), max(w, l)} {
			parent, err := lockRoot(ctx, tx, id)
			if err != nil {
				return err
			}
			if parent != 0 {
				return kizuna.Errorf(kizuna.ECONFLICT, "customer %d was merged meanwhile; reload and try again", id)
			}
		}
		ps := map[int64]*profile{}
		if err := loadProfiles(ctx, tx, tx.Dialect, []int64{w, l}, ps); err != nil {
			return err
		}
		wp, lp := ps[w], ps[l]
		rec := mergeRecord{Before: wp.f}
		rec.Filled, rec.AttrsAdded = fillBlanks(wp, lp)
		if len(rec.AttrsAdded) > 0 {
			rec.AttrsValues = map[string]any{}
			for _, k := range rec.AttrsAdded {
				rec.AttrsValues[k] = wp.attributes()[k]
			}
		}
		out, err = mergeRows(ctx, tx, w, l, false, false, rec, reason, false)
		if err != nil {
			return err
		}
		if wp.dirty {
			if err := updateProfiles(ctx, tx, []*profile{wp}, tx.NowMS()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Unmerge undoes a merge exactly: the loser and the profiles that were
// merged into it before become their own customer again, with their
// identities, events and orders (which never moved), and the winner's fields
// that the merge filled go back to what they were — unless someone changed
// them since. A merge whose winner was later merged into a third customer is
// refused with ECONFLICT naming the merge to undo first, because the third
// customer may hold data the loser brought. Errors: ENOTFOUND, ECONFLICT.
// [customers.unmerge]
func (s *Service) Unmerge(ctx context.Context, mergeID int64) error {
	if err := auth.Require(ctx, auth.PermCustomersUnmerge); err != nil {
		return err
	}
	return s.db.WriteTx(ctx, func(tx *db.Tx) error {
		var (
			winner, loser   int64
			movedJSON, recJ string
			undone          sql.NullInt64
		)
		// The no-op UPDATE locks the merge row first (Postgres), so that two
		// admins undoing the same merge at once cannot both restore it: the
		// second sees the first's undone_at.
		err := tx.QueryRowContext(ctx, `UPDATE customer_merges SET undone_by = undone_by WHERE id = $1
			RETURNING winner_id, loser_id, moved_ids, winner_before, undone_at`, mergeID).
			Scan(&winner, &loser, &movedJSON, &recJ, &undone)
		if errors.Is(err, sql.ErrNoRows) {
			return kizuna.Errorf(kizuna.ENOTFOUND, "merge %d not found", mergeID)
		}
		if err != nil {
			return fmt.Errorf("unmerge %d: %w", mergeID, err)
		}
		if undone.Valid {
			return kizuna.Errorf(kizuna.ECONFLICT, "merge %d was already undone", mergeID)
		}
		parent, err := lockRoot(ctx, tx, winner)
		if err != nil {
			return err
		}
		if parent != 0 {
			later, err := supersedingMerge(ctx, tx, mergeID, winner, parent)
			if err != nil {
				return err
			}
			return kizuna.Errorf(kizuna.ECONFLICT, "merge %d cannot be undone: customer %d has since been merged into customer %d by merge %d; undo merge %d first", mergeID, winner, parent, later, later)
		}
		var moved []int64
		var rec mergeRecord
		if err := json.Unmarshal([]byte(movedJSON), &moved); err != nil {
			return fmt.Errorf("unmerge %d: moved ids: %w", mergeID, err)
		}
		if err := json.Unmarshal([]byte(recJ), &rec); err != nil {
			return fmt.Errorf("unmerge %d: winner record: %w", mergeID, err)
		}
		// Only the moved profiles still under the winner come back; one that
		// left since did so through the undo of an earlier merge.
		args := []any{winner}
		for _, id := range moved {
			args = append(args, id)
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM customers WHERE merged_into = $1 AND id IN (`+db.Placeholders(2, len(moved))+`) ORDER BY id`, args...)
		if err != nil {
			return fmt.Errorf("unmerge %d: %w", mergeID, err)
		}
		still, err := scanIDs(rows)
		if err != nil {
			return fmt.Errorf("unmerge %d: %w", mergeID, err)
		}
		if !slices.Contains(still, loser) {
			return kizuna.Errorf(kizuna.ECONFLICT, "merge %d cannot be undone: customer %d is no longer part of customer %d", mergeID, loser, winner)
		}
		now := tx.NowMS()
		if _, err := tx.ExecContext(ctx, `UPDATE customers SET merged_into = NULL, updated_at = $2 WHERE id = $1`, loser, now); err != nil {
			return fmt.Errorf("unmerge %d: %w", mergeID, err)
		}
		for _, id := range still {
			if id == loser {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE customers SET merged_into = $1, updated_at = $3 WHERE id = $2`, loser, id, now); err != nil {
				return fmt.Errorf("unmerge %d: %w", mergeID, err)
			}
		}
		ps := map[int64]*profile{}
		if err := loadProfiles(ctx, tx, tx.Dialect, []int64{winner}, ps); err != nil {
			return err
		}
		wp := ps[winner]
		var restored []string
		before := rec.Before.fieldPtrs()
		for i, f := range wp.f.fieldPtrs() {
			if v, ok := rec.Filled[f.col]; ok && *f.p == v {
				*f.p = *before[i].p
				restored = append(restored, f.col)
			}
		}
		if len(rec.AttrsAdded) > 0 {
			a := wp.attributes()
			for _, k := range rec.AttrsAdded {
				if cur, ok := a[k]; ok && reflect.DeepEqual(cur, rec.AttrsValues[k]) {
					delete(a, k)
					restored = append(restored, "attributes."+k)
				}
			}
		}
		if len(restored) > 0 {
			wp.dirty = true
			if err := updateProfiles(ctx, tx, []*profile{wp}, now); err != nil {
				return err
			}
		}
		_, _, label, _ := actor(ctx)
		if _, err := tx.ExecContext(ctx, `UPDATE customer_merges SET undone_at = $1, undone_by = $2 WHERE id = $3`, now, label, mergeID); err != nil {
			return fmt.Errorf("unmerge %d: %w", mergeID, err)
		}
		return writeAudit(ctx, tx, auth.ActionCustomerUnmerge, strconv.FormatInt(winner, 10), map[string]any{
			"merge_id": mergeID, "winner_id": winner, "loser_id": loser, "restored_ids": still, "restored_fields": restored,
		})
	})
}

// Merges lists the merge trail of a customer, newest first: every merge
// (undone or not) whose winner or loser is one of its profiles.
// Errors: ENOTFOUND. [customers.read]
func (s *Service) Merges(ctx context.Context, customerID int64) ([]Merge, error) {
	if err := auth.Require(ctx, auth.PermCustomersRead); err != nil {
		return nil, err
	}
	q := s.db.Reader()
	root, err := canonicalID(ctx, q, customerID)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT id, winner_id, loser_id, reason, actor, created_at, undone_at, undone_by
		FROM customer_merges WHERE winner_id IN (`+groupIDs("$1")+`) OR loser_id IN (`+groupIDs("$1")+`)
		ORDER BY id DESC`, root)
	if err != nil {
		return nil, fmt.Errorf("merges of %d: %w", customerID, err)
	}
	defer rows.Close()
	out := []Merge{}
	for rows.Next() {
		var m Merge
		var at int64
		var undone sql.NullInt64
		if err := rows.Scan(&m.ID, &m.WinnerID, &m.LoserID, &m.Reason, &m.Actor, &at, &undone, &m.UndoneBy); err != nil {
			return nil, fmt.Errorf("merges of %d: %w", customerID, err)
		}
		m.CreatedAt = msTime(at)
		if undone.Valid {
			t := msTime(undone.Int64)
			m.UndoneAt = &t
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// supersedingMerge finds the live merge that moved profile id under root
// after merge after.
func supersedingMerge(ctx context.Context, tx *db.Tx, after, id, root int64) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, moved_ids FROM customer_merges WHERE winner_id = $1 AND id > $2 AND undone_at IS NULL ORDER BY id DESC`, root, after)
	if err != nil {
		return 0, fmt.Errorf("unmerge %d: %w", after, err)
	}
	defer rows.Close()
	for rows.Next() {
		var m int64
		var movedJSON string
		if err := rows.Scan(&m, &movedJSON); err != nil {
			return 0, fmt.Errorf("unmerge %d: %w", after, err)
		}
		var moved []int64
		if json.Unmarshal([]byte(movedJSON), &moved) == nil && slices.Contains(moved, id) {
			return m, nil
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("unmerge %d: %w", after, err)
	}
	return 0, fmt.Errorf("unmerge %d: customer %d is under %d but no merge records it", after, id, root)
}
