package customer

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
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

// lastSeenGranularity is how far last_seen_at must move before it is
// written: "last seen" is read in minutes, and skipping smaller moves saves
// a row write per active device per batch on the ingest path.
const lastSeenGranularity = 60_000 // ms

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
	region := s.region()
	if r.Traits != nil {
		region = s.phoneRegion(r.Traits.Country)
	}
	for _, p := range phones {
		if p != "" {
			if v, err := NormalizePhone(p, region); err == nil {
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

// phoneRegion is the region a national phone number is read in: the
// customer's country when it is known, else the service's default.
func (s *Service) phoneRegion(country string) string {
	if c, ok := normalizeCountry(country); ok {
		return c
	}
	return s.region()
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
		n.f.Phone, _ = NormalizePhone(t.Phone, s.phoneRegion(t.Country))
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
// the profiles found, decisions in memory, then multi-row writes.
// last_seen_at is written when it moves by more than a
// minute (lastSeenGranularity), which spares a row write per active device
// per batch. Traits update the canonical customer (what the 360 view
// shows); emails and phones in traits also become identities. Malformed
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
	for attempt := 1; ; attempt++ {
		r := newResolver(ctx, s, tx)
		// On Postgres the writes run inside a savepoint, so that a race
		// with another node is re-run rather than failing the transaction.
		// It is taken only when there is something to write: the common
		// batch of known customers reads and writes nothing, and saves two
		// round trips.
		r.savepoint = tx.Dialect == db.Postgres
		ids, err := r.run(reqs, inputs)
		if err == nil {
			if r.saved {
				if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT kizuna_resolve`); err != nil {
					return nil, fmt.Errorf("resolve: %w", err)
				}
			}
			return ids, nil
		}
		if !errors.Is(err, errRaced) || !r.saved || attempt == 5 {
			return nil, err
		}
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT kizuna_resolve`); rerr != nil {
			return nil, fmt.Errorf("resolve: %w (after %v)", rerr, err)
		}
		resolveRetries.Add(1)
	}
}

// groupIDs is the subquery of the profile ids of canonical customer p (a
// parameter placeholder): the root and every profile merged into it. Two
// index lookups; an OR over both columns would scan the table.
func groupIDs(p string) string {
	return `SELECT id FROM customers WHERE id = ` + p + ` UNION ALL SELECT id FROM customers WHERE merged_into = ` + p
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

	savepoint bool // take a savepoint before the first write (Postgres)
	saved     bool // it was taken
}

type pendingIdentity struct {
	key     identKey
	profile int64
	source  string
}

type pendingMerge struct {
	winner, loser int64
	// via are the profiles whose identities linked the two customers: the
	// request's anchor and the owner of the other identity.
	via    [2]int64
	record mergeRecord
	reason string
}

type skipNote struct {
	ProfileA, ProfileB int64
	UserIDA, UserIDB   string
	Source, Reason     string
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
	merge := make([]bool, len(reqs))
	for i := range reqs {
		merge[i] = reqs[i].Merge
	}
	if err := r.lookup(inputs, merge); err != nil {
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
func (r *resolver) lookup(inputs []resolveInput, merge []bool) error {
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
			in, inArgs := db.InText(r.tx.Dialect, 2, values[lo:hi])
			args := append([]any{kind}, inArgs...)
			rows, err := r.tx.QueryContext(r.ctx, positional(r.tx.Dialect, `SELECT value, customer_id FROM identities WHERE kind = $1 AND value`+in), args...)
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
	if err := loadLight(r.ctx, r.tx, r.tx.Dialect, owners, r.profiles); err != nil {
		return fmt.Errorf("resolve: %w", err)
	}
	// merged_into always points at a root, so one more read finds them all.
	var roots []int64
	rootSeen := map[int64]bool{}
	for _, p := range r.profiles {
		if p.parent != 0 && r.profiles[p.parent] == nil && !rootSeen[p.parent] {
			rootSeen[p.parent] = true
			roots = append(roots, p.parent)
		}
	}
	if err := loadLight(r.ctx, r.tx, r.tx.Dialect, roots, r.profiles); err != nil {
		return fmt.Errorf("resolve: %w", err)
	}
	for _, id := range owners {
		if r.profiles[id] == nil {
			return fmt.Errorf("resolve: identity owner %d has no profile row", id)
		}
	}
	// Whole rows for the customers whose fields this batch may change:
	// those a request with traits, an email or phone, or a merge touches.
	var full []int64
	fullSeen := map[int64]bool{}
	for i := range inputs {
		in := &inputs[i]
		if in.traits == nil && !merge[i] && !slices.ContainsFunc(in.keys, func(k identKey) bool { return k.kind == KindEmail || k.kind == KindPhone }) {
			continue
		}
		for _, k := range in.keys {
			if o, ok := r.owner[k]; ok && !fullSeen[r.root(o)] {
				fullSeen[r.root(o)] = true
				full = append(full, r.root(o))
			}
		}
	}
	if err := r.loadFull(full); err != nil {
		return err
	}
	return r.preloadUserIDs(inputs, merge)
}

// loadFull replaces light profiles by whole rows, keeping what the batch
// already decided about them (their root and the time they were seen).
func (r *resolver) loadFull(ids []int64) error {
	var need []int64
	for _, id := range ids {
		if p := r.profiles[id]; p != nil && p.light {
			need = append(need, id)
		}
	}
	if len(need) == 0 {
		return nil
	}
	fresh := map[int64]*profile{}
	if err := loadProfiles(r.ctx, r.tx, r.tx.Dialect, need, fresh); err != nil {
		return fmt.Errorf("resolve: %w", err)
	}
	for _, id := range need {
		f, p := fresh[id], r.profiles[id]
		if f == nil {
			return fmt.Errorf("resolve: profile %d vanished", id)
		}
		p.f, p.attrsRaw, p.attrs, p.createdAt, p.light = f.f, f.attrsRaw, nil, f.createdAt, false
	}
	return nil
}

// preloadUserIDs reads, in one query, the user ids of every customer the
// user-id guard will ask about: the customers a new user id may join and
// the customers a Merge request links. Most batches (tracks of known
// devices) need none.
func (r *resolver) preloadUserIDs(inputs []resolveInput, merge []bool) error {
	var need []int64
	marked := map[int64]bool{}
	mark := func(root int64) {
		if !marked[root] {
			marked[root] = true
			need = append(need, root)
		}
	}
	for i := range inputs {
		keys := inputs[i].keys
		_, uidKnown := r.owner[keys[0]]
		newUID := keys[0].kind == KindUserID && !uidKnown
		var roots []int64
		for _, k := range keys {
			if o, ok := r.owner[k]; ok && !slices.Contains(roots, r.root(o)) {
				roots = append(roots, r.root(o))
			}
		}
		if newUID || (merge[i] && len(roots) > 1) {
			for _, root := range roots {
				mark(root)
			}
		}
	}
	const chunk = 1000
	for lo := 0; lo < len(need); lo += chunk {
		hi := min(lo+chunk, len(need))
		n := hi - lo
		args := make([]any, 0, 2*n)
		for range 2 {
			for _, id := range need[lo:hi] {
				args = append(args, id)
			}
		}
		// Driven from the customer ids (index lookups), never from the
		// user_id identities, which can be millions: SQLite keeps the
		// left side of a CROSS JOIN as the outer loop.
		rows, err := r.tx.QueryContext(r.ctx, positional(r.tx.Dialect, `SELECT i.value, g.root, i.id
			FROM (SELECT id, id AS root FROM customers WHERE id IN (`+db.Placeholders(1, n)+`)
				UNION ALL
				SELECT id, merged_into FROM customers WHERE merged_into IS NOT NULL AND merged_into IN (`+db.Placeholders(1+n, n)+`)) g
			CROSS JOIN identities i
			WHERE i.customer_id = g.id AND i.kind = 'user_id'
			ORDER BY 3`), args...)
		if err != nil {
			return fmt.Errorf("resolve: user ids: %w", err)
		}
		for _, id := range need[lo:hi] {
			r.userIDs[id] = nil
		}
		for rows.Next() {
			var v string
			var root, identID int64
			if err := rows.Scan(&v, &root, &identID); err != nil {
				rows.Close()
				return fmt.Errorf("resolve: user ids: %w", err)
			}
			r.userIDs[root] = append(r.userIDs[root], v)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("resolve: user ids: %w", err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("resolve: user ids: %w", err)
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
		rows, err := r.tx.QueryContext(r.ctx, `SELECT value FROM identities WHERE kind = $1 AND customer_id IN (`+groupIDs("$2")+`)
			ORDER BY id`, KindUserID, root)
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
			if err := r.mergeOrSkip(ra, rk, [2]int64{anchor, o}, req, in.keys[0], k); err != nil {
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
	contact := slices.ContainsFunc(in.keys, func(k identKey) bool { return k.kind == KindEmail || k.kind == KindPhone })
	if in.traits == nil && !contact {
		// A track: only last_seen_at moves; the row may stay light.
		r.markSeen(anchor, root, in.seenAt)
		return anchor, nil
	}
	if err := r.loadFull([]int64{root.id}); err != nil {
		return 0, err
	}
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
	r.markSeen(anchor, root, in.seenAt)
	return anchor, nil
}

func (r *resolver) markSeen(anchor int64, root *profile, at int64) {
	for _, p := range []*profile{r.profiles[anchor], root} {
		if at > p.seen {
			p.seen = at
		}
	}
}

// mergeOrSkip merges the groups of roots a and b, unless each holds a
// different user id: that is never merged automatically, only noted.
func (r *resolver) mergeOrSkip(a, b int64, via [2]int64, req *Resolve, k1, k2 identKey) error {
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
	if err := r.loadFull([]int64{w, l}); err != nil {
		return err
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
	r.merges = append(r.merges, pendingMerge{winner: w, loser: l, via: via, record: rec,
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
		// identify is sent on every page load with the same traits; only a
		// real change rewrites the row.
		a := p.attributes()
		for k, v := range t.attrs {
			old, had := a[k]
			switch {
			case v == nil && had:
				delete(a, k)
				p.dirty = true
			case v != nil && (!had || !reflect.DeepEqual(old, v)):
				a[k] = v
				p.dirty = true
			}
		}
	}
}

// flush writes what apply decided and returns the mapping from temporary to
// stored profile ids.
func (r *resolver) flush() (func(int64) int64, error) {
	ctx, tx := r.ctx, r.tx
	if r.savepoint && r.writes() {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT kizuna_resolve`); err != nil {
			return nil, fmt.Errorf("resolve: %w", err)
		}
		r.saved = true
	}
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
		rows, err := tx.QueryContext(ctx, positional(tx.Dialect, `INSERT INTO customers (family_name, given_name, family_name_kana, given_name_kana,
			email, phone, locale, time_zone, country, lifecycle_stage, attributes, search_text, sort_name,
			created_at, updated_at, last_seen_at)
			VALUES `+valuesRows(hi-lo, profCols)+` RETURNING id`), args...)
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
		res, err := tx.ExecContext(ctx, positional(tx.Dialect, `INSERT INTO identities (customer_id, kind, value, source, created_at)
			VALUES `+valuesRows(hi-lo, identCols)+` ON CONFLICT (kind, value) DO NOTHING`), args...)
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
		// The decision was made on what the lookup read; another node may
		// have merged or unmerged one of the linking profiles since. After
		// this merge both must belong to the winner, or it is re-decided.
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM customers WHERE id IN ($1, $2) AND COALESCE(merged_into, id) = $3`,
			realID(m.via[0]), realID(m.via[1]), w).Scan(&n); err != nil {
			return nil, fmt.Errorf("resolve: merge check: %w", err)
		}
		if n != 2 {
			return nil, errRaced
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

	// 5. last_seen_at, once per stored profile, only forward, and only when
	// it moves by more than lastSeenGranularity: a device sending events
	// every second would otherwise rewrite its profile row every batch.
	var seenArgs []any
	var seenRows int
	var seenIDs []int64
	for _, p := range r.profiles {
		if p.seen > p.lastSeen+lastSeenGranularity && !p.isNew {
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
		detail := map[string]any{"profile_a": n.ProfileA, "profile_b": n.ProfileB, "user_id_a": n.UserIDA,
			"user_id_b": n.UserIDB, "source": n.Source, "reason": n.Reason}
		if err := writeAudit(ctx, tx, auth.ActionCustomerMergeSkipped, strconv.FormatInt(n.ProfileA, 10), detail); err != nil {
			return nil, err
		}
	}
	return realID, nil
}

// writes reports whether flush has anything to write. It must cover every
// write flush makes: a race found by a write outside the savepoint would
// fail the transaction instead of being re-run.
func (r *resolver) writes() bool {
	if len(r.newProfs) > 0 || len(r.newIdent) > 0 || len(r.merges) > 0 || len(r.skipList) > 0 {
		return true
	}
	for _, p := range r.profiles {
		if (p.dirty || p.seen > p.lastSeen+lastSeenGranularity) && !p.isNew {
			return true
		}
	}
	return false
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

// valuesTable returns "(VALUES (CAST($start AS t1), …), …) AS v" for rows of the
// given column types. The casts let Postgres type the parameters (a bare
// VALUES list has no context to infer them from); the columns are named
// column1, column2 … on both engines.
func valuesTable(start, rows int, types []string) string {
	var b strings.Builder
	b.WriteString("(VALUES ")
	n := start
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
	_, err := tx.ExecContext(ctx, positional(tx.Dialect, `UPDATE customers SET last_seen_at = v.column2
		FROM `+valuesTable(1, rows, []string{"BIGINT", "BIGINT"})+`
		WHERE customers.id = v.column1 AND (customers.last_seen_at IS NULL OR customers.last_seen_at < v.column2)`), args...)
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
		args = append(args, now)
		for _, p := range ps[lo:hi] {
			if p.light {
				// Writing a row read without its fields would blank them.
				return fmt.Errorf("update profiles: profile %d was not read whole", p.id)
			}
			c := p.asCustomer()
			args = append(args, p.id, p.f.FamilyName, p.f.GivenName, p.f.FamilyNameKana, p.f.GivenNameKana,
				p.f.Email, p.f.Phone, p.f.Locale, p.f.TimeZone, p.f.Country, p.f.LifecycleStage,
				p.attributesJSON(), SearchText(c), sortName(c))
		}
		_, err := tx.ExecContext(ctx, positional(tx.Dialect, `UPDATE customers SET updated_at = $1, family_name = v.column2,
			given_name = v.column3, family_name_kana = v.column4, given_name_kana = v.column5, email = v.column6,
			phone = v.column7, locale = v.column8, time_zone = v.column9, country = v.column10,
			lifecycle_stage = v.column11, attributes = v.column12, search_text = v.column13, sort_name = v.column14
			FROM `+valuesTable(2, hi-lo, types)+` WHERE customers.id = v.column1`), args...)
		if err != nil {
			return fmt.Errorf("update profiles: %w", err)
		}
	}
	return nil
}
