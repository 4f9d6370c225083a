package customer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// identKey is one normalised identity.
type identKey struct{ kind, value string }

// kindRank orders identity kinds from strongest to weakest: the profile that
// owns a request's strongest identity is the one its event is stored under.
var kindRank = map[string]int{KindUserID: 0, KindEmail: 1, KindPhone: 2, KindLINE: 3, KindAnonymousID: 4}

// kindsByRank lists the kinds ResolveTx looks up, strongest first.
var kindsByRank = []string{KindUserID, KindEmail, KindPhone, KindLINE, KindAnonymousID}

// resolveInput is one request after normalisation.
type resolveInput struct {
	keys   []identKey // strongest first, distinct
	traits *normalTraits
	seenAt int64
}

// normalTraits are Traits after normalisation; invalid values are dropped.
type normalTraits struct {
	f     profileFields // "" leaves a field alone
	attrs map[string]any
}

// errRaced reports that another transaction committed identities or a merge
// this one collided with; the resolution is re-run from a savepoint and then
// sees the other's rows. Only Postgres can race: SQLite has one writer.
var errRaced = errors.New("customer: concurrent resolution")

// resolveRetries counts re-runs after a race, for tests and diagnostics.
var resolveRetries atomic.Int64

// normalizeRequest turns a request's keys and traits into identities. Keys
// that fail validation (a malformed email or phone in a track call) are
// dropped rather than failing the batch: the event is still stored under the
// ids that are valid, and ingestion validates what it must reject.
func (s *Service) normalizeRequest(r *Resolve, now int64) (resolveInput, error) {
	var in resolveInput
	add := func(kind, value string) {
		k := identKey{kind, value}
		if !slices.Contains(in.keys, k) {
			in.keys = append(in.keys, k)
		}
	}
	if r.Keys.UserID != "" {
		if v, err := normalizeOpaqueID("userId", r.Keys.UserID); err == nil {
			add(KindUserID, v)
		}
	}
	if r.Keys.AnonymousID != "" {
		if v, err := normalizeOpaqueID("anonymousId", r.Keys.AnonymousID); err == nil {
			add(KindAnonymousID, v)
		}
	}
	emails := []string{r.Keys.Email}
	phones := []string{r.Keys.Phone}
	if r.Traits != nil {
		emails = append(emails, r.Traits.Email)
		phones = append(phones, r.Traits.Phone)
	}
	for _, e := range emails {
		if e != "" {
			if v, err := NormalizeEmail(e); err == nil {
				add(KindEmail, v)
			}
		}
	}
	for _, p := range phones {
		if p != "" {
			if v, err := NormalizePhone(p, s.region()); err == nil {
				add(KindPhone, v)
			}
		}
	}
	if r.Keys.LINEUserID != "" {
		if v, err := NormalizeLINEUserID(r.Keys.LINEUserID); err == nil {
			add(KindLINE, v)
		}
	}
	if len(in.keys) == 0 {
		return in, kizuna.FieldError("userId", "a message needs a valid userId or anonymousId")
	}
	// Stable: two emails keep their order (the key before the trait).
	slices.SortStableFunc(in.keys, func(a, b identKey) int { return kindRank[a.kind] - kindRank[b.kind] })
	in.seenAt = now
	if !r.SeenAt.IsZero() {
		// A client clock ahead of ours must not push last_seen_at into the
		// future, where no later event could move it.
		in.seenAt = min(r.SeenAt.UnixMilli(), now)
	}
	if r.Traits != nil {
		in.traits = s.normalizeTraits(r.Traits)
	}
	return in, nil
}

// normalizeTraits keeps the traits that are valid. Ingestion is lenient on
// purpose: a bad phone in an identify call must not lose the event.
func (s *Service) normalizeTraits(t *Traits) *normalTraits {
	n := &normalTraits{attrs: t.Attributes}
	n.f.FamilyName = NormalizeName(t.FamilyName)
	n.f.GivenName = NormalizeName(t.GivenName)
	n.f.FamilyNameKana = NormalizeName(t.FamilyNameKana)
	n.f.GivenNameKana = NormalizeName(t.GivenNameKana)
	if t.Email != "" {
		n.f.Email, _ = NormalizeEmail(t.Email)
	}
	if t.Phone != "" {
		n.f.Phone, _ = NormalizePhone(t.Phone, s.region())
	}
	if v, ok := normalizeLocale(t.Locale); ok {
		n.f.Locale = v
	}
	if validTimeZone(strings.TrimSpace(t.TimeZone)) {
		n.f.TimeZone = strings.TrimSpace(t.TimeZone)
	}
	// Countries arrive as codes from SDKs and as names from imports; a
	// code is stored as ISO alpha-2, anything else as written.
	if v, _ := normalizeCountry(t.Country); v != "" {
		n.f.Country = v
	}
	if l := strings.ToLower(strings.TrimSpace(t.LifecycleStage)); validLifecycle(l) {
		n.f.LifecycleStage = l
	}
	return n
}

// ResolveTx maps each request to a profile id, in order: the profile that
// owns the request's strongest identity (user_id > email > phone > LINE >
// anonymous_id), which events and orders are then stored under; readers
// reach the canonical customer through merged_into. Known identities find
// their profile; unknown ones are attached to it; a
// request with no known identity creates a profile; a request with Merge set
// that links two profiles merges them (the older survives; two different
// user_ids never merge automatically). Traits update the profile and SeenAt
// advances last_seen_at. Requests are applied in order, so a later request
// sees what an earlier one created.
//
// The batch is resolved set-based: one lookup per identity kind, one read of
// the profiles found, decisions in memory, then multi-row writes. Malformed
// emails, phones and LINE ids are ignored; a request with neither a valid
// userId nor anonymousId (nor any other key) fails the batch with EINVALID.
// On Postgres a collision with another node's concurrent resolution is
// resolved by re-running from a savepoint; deadlocks between nodes surface
// as retryable errors that db.WriteTx retries.
func (s *Service) ResolveTx(ctx context.Context, tx *db.Tx, reqs []Resolve) ([]int64, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	now := tx.NowMS()
	inputs := make([]resolveInput, len(reqs))
	for i := range reqs {
		in, err := s.normalizeRequest(&reqs[i], now)
		if err != nil {
			var ke *kizuna.Error
			if errors.As(err, &ke) {
				ke.Message = fmt.Sprintf("request %d: %s", i, ke.Message)
			}
			return nil, err
		}
		inputs[i] = in
	}
	savepoint := tx.Dialect == db.Postgres
	for attempt := 1; ; attempt++ {
		if savepoint {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT kizuna_resolve`); err != nil {
				return nil, fmt.Errorf("resolve: %w", err)
			}
		}
		r := newResolver(ctx, s, tx)
		ids, err := r.run(reqs, inputs)
		if err == nil {
			if savepoint {
				if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT kizuna_resolve`); err != nil {
					return nil, fmt.Errorf("resolve: %w", err)
				}
			}
			return ids, nil
		}
		if !errors.Is(err, errRaced) || !savepoint || attempt == 5 {
			return nil, err
		}
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT kizuna_resolve`); rerr != nil {
			return nil, fmt.Errorf("resolve: %w (after %v)", rerr, err)
		}
		resolveRetries.Add(1)
	}
}

// resolver holds one batch's view of identities and profiles while it
// decides, and what it must write afterwards.
type resolver struct {
	ctx context.Context
	s   *Service
	tx  *db.Tx
	now int64

	owner    map[identKey]int64  // identity → owning profile (stored or new)
	profiles map[int64]*profile  // every profile the batch touches
	userIDs  map[int64][]string  // root → the user ids its group holds (loaded on demand)
	newProfs []*profile          // created by this batch, in creation order
	newIdent []pendingIdentity   // identities to insert
	merges   []pendingMerge      // in the order decided
	skipped  map[string]skipNote // automatic merges refused, by a dedup key
	skipList []skipNote
	nextTemp int64
}

type pendingIdentity struct {
	key     identKey
	profile int64
	source  string
}

type pendingMerge struct {
	winner, loser int64
	record        mergeRecord
	reason        string
}

type skipNote struct {
	ProfileA int64  `json:"profile_a"`
	ProfileB int64  `json:"profile_b"`
	UserIDA  string `json:"user_id_a"`
	UserIDB  string `json:"user_id_b"`
	Source   string `json:"source"`
	Reason   string `json:"reason"`
}

func newResolver(ctx context.Context, s *Service, tx *db.Tx) *resolver {
	return &resolver{
		ctx: ctx, s: s, tx: tx, now: tx.NowMS(),
		owner:    map[identKey]int64{},
		profiles: map[int64]*profile{},
		userIDs:  map[int64][]string{},
		skipped:  map[string]skipNote{},
	}
}

func (r *resolver) run(reqs []Resolve, inputs []resolveInput) ([]int64, error) {
	if err := r.lookup(inputs); err != nil {
		return nil, err
	}
	out := make([]int64, len(reqs))
	for i := range reqs {
		p, err := r.apply(&reqs[i], &inputs[i])
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	realID, err := r.flush()
	if err != nil {
		return nil, err
	}
	for i, id := range out {
		out[i] = realID(id)
	}
	return out, nil
}

// lookup reads the owners of every key of the batch (one query per kind and
// chunk) and the profiles they belong to, with their roots.
func (r *resolver) lookup(inputs []resolveInput) error {
	byKind := map[string][]string{}
	seen := map[identKey]bool{}
	for i := range inputs {
		for _, k := range inputs[i].keys {
			if !seen[k] {
				seen[k] = true
				byKind[k.kind] = append(byKind[k.kind], k.value)
			}
		}
	}
	var owners []int64
	ownerSeen := map[int64]bool{}
	for _, kind := range kindsByRank {
		values := byKind[kind]
		const chunk = 2000
		for lo := 0; lo < len(values); lo += chunk {
			hi := min(lo+chunk, len(values))
			args := make([]any, 0, hi-lo+1)
			args = append(args, kind)
			for _, v := range values[lo:hi] {
				args = append(args, v)
			}
			rows, err := r.tx.QueryContext(r.ctx, `SELECT value, customer_id FROM identities WHERE kind = $1 AND value IN (`+db.Placeholders(2, hi-lo)+`)`, args...)
			if err != nil {
				return fmt.Errorf("resolve: look up %s: %w", kind, err)
			}
			for rows.Next() {
				var v string
				var id int64
				if err := rows.Scan(&v, &id); err != nil {
					rows.Close()
					return fmt.Errorf("resolve: look up %s: %w", kind, err)
				}
				r.owner[identKey{kind, v}] = id
				if !ownerSeen[id] {
					ownerSeen[id] = true
					owners = append(owners, id)
				}
			}
			if err := rows.Close(); err != nil {
				return fmt.Errorf("resolve: look up %s: %w", kind, err)
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("resolve: look up %s: %w", kind, err)
			}
		}
	}
	if err := loadProfiles(r.ctx, r.tx, owners, r.profiles); err != nil {
		return fmt.Errorf("resolve: %w", err)
	}
	// merged_into always points at a root, so one more read finds them all.
	var roots []int64
	for _, p := range r.profiles {
		if p.parent != 0 && r.profiles[p.parent] == nil && !slices.Contains(roots, p.parent) {
			roots = append(roots, p.parent)
		}
	}
	if err := loadProfiles(r.ctx, r.tx, roots, r.profiles); err != nil {
		return fmt.Errorf("resolve: %w", err)
	}
	for _, id := range owners {
		if r.profiles[id] == nil {
			return fmt.Errorf("resolve: identity owner %d has no profile row", id)
		}
	}
	return nil
}

func (r *resolver) root(id int64) int64 {
	if p := r.profiles[id]; p != nil && p.parent != 0 {
		return p.parent
	}
	return id
}

// groupUserIDs returns the user ids held by any profile of root's group.
func (r *resolver) groupUserIDs(root int64) ([]string, error) {
	if ids, ok := r.userIDs[root]; ok {
		return ids, nil
	}
	var ids []string
	if root > 0 {
		rows, err := r.tx.QueryContext(r.ctx, `SELECT i.value FROM identities i JOIN customers c ON c.id = i.customer_id
			WHERE i.kind = $1 AND (c.id = $2 OR c.merged_into = $2) ORDER BY i.id`, KindUserID, root)
		if err != nil {
			return nil, fmt.Errorf("resolve: user ids of %d: %w", root, err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("resolve: user ids of %d: %w", root, err)
			}
			ids = append(ids, v)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	// Identities this batch attached are not stored yet.
	for _, ni := range r.newIdent {
		if ni.key.kind == KindUserID && r.root(ni.profile) == root && !slices.Contains(ids, ni.key.value) {
			ids = append(ids, ni.key.value)
		}
	}
	r.userIDs[root] = ids
	return ids, nil
}

func (r *resolver) newProfile(in *resolveInput) *profile {
	r.nextTemp--
	p := &profile{id: r.nextTemp, createdAt: in.seenAt, attrsRaw: "{}", isNew: true}
	p.f.LifecycleStage = "lead"
	r.profiles[p.id] = p
	r.userIDs[p.id] = nil
	r.newProfs = append(r.newProfs, p)
	return p
}

func (r *resolver) attach(k identKey, profileID int64, source string) {
	r.owner[k] = profileID
	r.newIdent = append(r.newIdent, pendingIdentity{key: k, profile: profileID, source: source})
	if k.kind == KindUserID {
		if ids, ok := r.userIDs[r.root(profileID)]; ok {
			r.userIDs[r.root(profileID)] = append(ids, k.value)
		}
	}
}

// older reports whether profile a was created before b: stored ids grow with
// time and every new profile of this batch is newer than any stored one
// (temporary ids count down from -1 in creation order).
func older(a, b int64) bool {
	switch {
	case a > 0 && b > 0:
		return a < b
	case a > 0:
		return true
	case b > 0:
		return false
	}
	return a > b
}

// apply decides one request against the state the earlier requests left.
func (r *resolver) apply(req *Resolve, in *resolveInput) (int64, error) {
	var anchor int64
	if uid := in.keys[0]; uid.kind == KindUserID {
		if o, ok := r.owner[uid]; ok {
			anchor = o
		} else {
			// A new user id joins the profile of the strongest known key
			// whose customer has no user id yet; a customer already known
			// under another user id is a different person (or a shared
			// device), so the new user id gets a profile of its own.
			for _, k := range in.keys[1:] {
				o, ok := r.owner[k]
				if !ok {
					continue
				}
				ids, err := r.groupUserIDs(r.root(o))
				if err != nil {
					return 0, err
				}
				if len(ids) == 0 {
					anchor = o
					break
				}
			}
			if anchor == 0 {
				anchor = r.newProfile(in).id
			}
			r.attach(uid, anchor, req.Source)
		}
	} else {
		for _, k := range in.keys {
			if o, ok := r.owner[k]; ok {
				anchor = o
				break
			}
		}
		if anchor == 0 {
			anchor = r.newProfile(in).id
		}
	}
	if req.Merge {
		for _, k := range in.keys {
			o, ok := r.owner[k]
			if !ok {
				continue
			}
			ra, rk := r.root(anchor), r.root(o)
			if ra == rk {
				continue
			}
			if err := r.mergeOrSkip(ra, rk, req, in.keys[0], k); err != nil {
				return 0, err
			}
		}
	}
	for _, k := range in.keys {
		if _, ok := r.owner[k]; !ok {
			r.attach(k, anchor, req.Source)
		}
	}
	root := r.profiles[r.root(anchor)]
	if in.traits != nil {
		applyTraits(root, in.traits)
	}
	// A profile learns its email and phone from its identities when it has
	// none: the list and the 360 header show them.
	for _, k := range in.keys {
		if r.root(r.owner[k]) != root.id {
			continue
		}
		switch {
		case k.kind == KindEmail && root.f.Email == "":
			root.f.Email, root.dirty = k.value, true
		case k.kind == KindPhone && root.f.Phone == "":
			root.f.Phone, root.dirty = k.value, true
		}
	}
	for _, p := range []*profile{r.profiles[anchor], root} {
		if in.seenAt > p.seen {
			p.seen = in.seenAt
		}
	}
	return anchor, nil
}

// mergeOrSkip merges the groups of roots a and b, unless each holds a
// different user id: that is never merged automatically, only noted.
func (r *resolver) mergeOrSkip(a, b int64, req *Resolve, k1, k2 identKey) error {
	ua, err := r.groupUserIDs(a)
	if err != nil {
		return err
	}
	ub, err := r.groupUserIDs(b)
	if err != nil {
		return err
	}
	if len(ua) > 0 && len(ub) > 0 && !slices.Equal(ua, ub) {
		key := strconv.FormatInt(min(a, b), 10) + "/" + strconv.FormatInt(max(a, b), 10)
		if _, dup := r.skipped[key]; !dup {
			n := skipNote{ProfileA: a, ProfileB: b, UserIDA: ua[0], UserIDB: ub[0], Source: req.Source,
				Reason: fmt.Sprintf("%s %s and %s %s belong to customers with different user ids", k1.kind, k1.value, k2.kind, k2.value)}
			r.skipped[key] = n
			r.skipList = append(r.skipList, n)
		}
		return nil
	}
	w, l := a, b
	if older(b, a) {
		w, l = b, a
	}
	wp, lp := r.profiles[w], r.profiles[l]
	rec := mergeRecord{Before: wp.f}
	rec.Filled, rec.AttrsAdded = fillBlanks(wp, lp)
	if len(rec.AttrsAdded) > 0 {
		rec.AttrsValues = map[string]any{}
		for _, k := range rec.AttrsAdded {
			rec.AttrsValues[k] = wp.attributes()[k]
		}
	}
	for _, p := range r.profiles {
		if p.id == l || p.parent == l {
			p.parent = w
		}
	}
	uw := ua
	if w == b {
		uw = ub
	}
	for _, u := range append(slices.Clone(ua), ub...) {
		if !slices.Contains(uw, u) {
			uw = append(uw, u)
		}
	}
	r.userIDs[w] = uw
	delete(r.userIDs, l)
	if lp.seen > wp.seen {
		wp.seen = lp.seen
	}
	r.merges = append(r.merges, pendingMerge{winner: w, loser: l, record: rec,
		reason: fmt.Sprintf("automatic (%s): %s %s linked %s %s", req.Source, k1.kind, k1.value, k2.kind, k2.value)})
	return nil
}

func applyTraits(p *profile, t *normalTraits) {
	src, dst := t.f.fieldPtrs(), p.f.fieldPtrs()
	for i := range src {
		if v := *src[i].p; v != "" && *dst[i].p != v {
			*dst[i].p = v
			p.dirty = true
		}
	}
	if len(t.attrs) > 0 {
		a := p.attributes()
		for k, v := range t.attrs {
			if v == nil {
				delete(a, k)
			} else {
				a[k] = v
			}
		}
		p.dirty = true
	}
}

// flush writes what apply decided and returns the mapping from temporary to
// stored profile ids.
func (r *resolver) flush() (func(int64) int64, error) {
	ctx, tx := r.ctx, r.tx
	real := map[int64]int64{}
	realID := func(id int64) int64 {
		if id < 0 {
			return real[id]
		}
		return id
	}
	// 1. New profiles, in one multi-row INSERT per chunk.
	const profCols = 16
	for lo := 0; lo < len(r.newProfs); lo += db.MaxParams / profCols {
		hi := min(lo+db.MaxParams/profCols, len(r.newProfs))
		args := make([]any, 0, (hi-lo)*profCols)
		for _, p := range r.newProfs[lo:hi] {
			c := p.asCustomer()
			last := any(nil)
			if p.seen > 0 {
				last = p.seen
			}
			args = append(args, p.f.FamilyName, p.f.GivenName, p.f.FamilyNameKana, p.f.GivenNameKana,
				p.f.Email, p.f.Phone, p.f.Locale, p.f.TimeZone, p.f.Country, p.f.LifecycleStage,
				p.attributesJSON(), SearchText(c), sortName(c), p.createdAt, r.now, last)
		}
		rows, err := tx.QueryContext(ctx, `INSERT INTO customers (family_name, given_name, family_name_kana, given_name_kana,
			email, phone, locale, time_zone, country, lifecycle_stage, attributes, search_text, sort_name,
			created_at, updated_at, last_seen_at)
			VALUES `+db.Rows(hi-lo, profCols)+` RETURNING id`, args...)
		if err != nil {
			return nil, fmt.Errorf("resolve: create profiles: %w", err)
		}
		ids, err := scanIDs(rows)
		if err != nil {
			return nil, fmt.Errorf("resolve: create profiles: %w", err)
		}
		if len(ids) != hi-lo {
			return nil, fmt.Errorf("resolve: created %d profiles, want %d", len(ids), hi-lo)
		}
		// RETURNING's row order is not specified on either engine, but ids
		// are: SQLite takes max(rowid)+1 per row and Postgres calls nextval
		// per row, both in VALUES order, so sorted ids match the rows.
		slices.Sort(ids)
		for i, p := range r.newProfs[lo:hi] {
			real[p.id] = ids[i]
		}
	}
	for _, p := range r.newProfs {
		p.id = real[p.id]
	}

	// 2. Identities, sorted so that concurrent nodes lock index entries in
	// the same order (no deadlock), skipping any another node inserted.
	slices.SortFunc(r.newIdent, func(a, b pendingIdentity) int {
		if c := strings.Compare(a.key.kind, b.key.kind); c != 0 {
			return c
		}
		return strings.Compare(a.key.value, b.key.value)
	})
	const identCols = 5
	for lo := 0; lo < len(r.newIdent); lo += db.MaxParams / identCols {
		hi := min(lo+db.MaxParams/identCols, len(r.newIdent))
		args := make([]any, 0, (hi-lo)*identCols)
		for _, ni := range r.newIdent[lo:hi] {
			args = append(args, realID(ni.profile), ni.key.kind, ni.key.value, ni.source, r.now)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO identities (customer_id, kind, value, source, created_at)
			VALUES `+db.Rows(hi-lo, identCols)+` ON CONFLICT (kind, value) DO NOTHING`, args...)
		if err != nil {
			return nil, fmt.Errorf("resolve: add identities: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("resolve: add identities: %w", err)
		}
		if n != int64(hi-lo) {
			// Another node committed one of these identities after our
			// lookup; re-run so that it is found instead.
			return nil, errRaced
		}
	}

	// 3. Merges, in the order decided.
	for _, m := range r.merges {
		w, l := realID(m.winner), realID(m.loser)
		if _, err := mergeRows(ctx, tx, w, l, m.winner > 0, m.loser > 0, m.record, m.reason, true); err != nil {
			return nil, err
		}
	}

	// 4. Changed fields of stored profiles, one multi-row UPDATE per chunk.
	var dirty []*profile
	for _, p := range r.profiles {
		if p.dirty && !p.isNew {
			dirty = append(dirty, p)
		}
	}
	slices.SortFunc(dirty, func(a, b *profile) int { return cmpInt(a.id, b.id) })
	if err := updateProfiles(ctx, tx, dirty, r.now); err != nil {
		return nil, fmt.Errorf("resolve: %w", err)
	}

	// 5. last_seen_at, once per stored profile, only forward.
	var seenArgs []any
	var seenRows int
	var seenIDs []int64
	for _, p := range r.profiles {
		if p.seen > p.lastSeen && !p.isNew {
			seenIDs = append(seenIDs, p.id)
		}
	}
	slices.Sort(seenIDs)
	for _, id := range seenIDs {
		seenArgs = append(seenArgs, id, r.profiles[id].seen)
		seenRows++
		if seenRows == 1000 {
			if err := updateLastSeen(ctx, tx, seenArgs, seenRows); err != nil {
				return nil, err
			}
			seenArgs, seenRows = seenArgs[:0], 0
		}
	}
	if seenRows > 0 {
		if err := updateLastSeen(ctx, tx, seenArgs, seenRows); err != nil {
			return nil, err
		}
	}

	// 6. Automatic merges that were refused, for the audit trail.
	for _, n := range r.skipList {
		n.ProfileA, n.ProfileB = realID(n.ProfileA), realID(n.ProfileB)
		if err := writeAudit(ctx, tx, "customer.merge_skipped", strconv.FormatInt(n.ProfileA, 10), n); err != nil {
			return nil, err
		}
	}
	return realID, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func scanIDs(rows interface {
	Next() bool
	Scan(...any) error
	Close() error
	Err() error
}) ([]int64, error) {
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return ids, rows.Err()
}

// valuesTable returns "(VALUES (CAST($1 AS t1), …), …) AS v" for rows of the
// given column types. The casts let Postgres type the parameters (a bare
// VALUES list has no context to infer them from); the columns are named
// column1, column2 … on both engines.
func valuesTable(rows int, types []string) string {
	var b strings.Builder
	b.WriteString("(VALUES ")
	n := 1
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c, t := range types {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteString("CAST($")
			b.WriteString(strconv.Itoa(n))
			b.WriteString(" AS ")
			b.WriteString(t)
			b.WriteByte(')')
			n++
		}
		b.WriteByte(')')
	}
	b.WriteString(") AS v")
	return b.String()
}

func updateLastSeen(ctx context.Context, tx *db.Tx, args []any, rows int) error {
	_, err := tx.ExecContext(ctx, `UPDATE customers SET last_seen_at = v.column2
		FROM `+valuesTable(rows, []string{"BIGINT", "BIGINT"})+`
		WHERE customers.id = v.column1 AND (customers.last_seen_at IS NULL OR customers.last_seen_at < v.column2)`, args...)
	if err != nil {
		return fmt.Errorf("resolve: last seen: %w", err)
	}
	return nil
}

// updateProfiles writes the fields, attributes and search keys of stored
// profiles.
func updateProfiles(ctx context.Context, tx *db.Tx, ps []*profile, now int64) error {
	types := []string{"BIGINT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT"}
	const chunk = 500
	for lo := 0; lo < len(ps); lo += chunk {
		hi := min(lo+chunk, len(ps))
		args := make([]any, 0, (hi-lo)*len(types)+1)
		for _, p := range ps[lo:hi] {
			c := p.asCustomer()
			args = append(args, p.id, p.f.FamilyName, p.f.GivenName, p.f.FamilyNameKana, p.f.GivenNameKana,
				p.f.Email, p.f.Phone, p.f.Locale, p.f.TimeZone, p.f.Country, p.f.LifecycleStage,
				p.attributesJSON(), SearchText(c), sortName(c))
		}
		args = append(args, now)
		nowParam := "$" + strconv.Itoa(len(args))
		_, err := tx.ExecContext(ctx, `UPDATE customers SET family_name = v.column2, given_name = v.column3,
			family_name_kana = v.column4, given_name_kana = v.column5, email = v.column6, phone = v.column7,
			locale = v.column8, time_zone = v.column9, country = v.column10, lifecycle_stage = v.column11,
			attributes = v.column12, search_text = v.column13, sort_name = v.column14, updated_at = `+nowParam+`
			FROM `+valuesTable(hi-lo, types)+` WHERE customers.id = v.column1`, args...)
		if err != nil {
			return fmt.Errorf("update profiles: %w", err)
		}
	}
	return nil
}
