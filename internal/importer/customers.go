package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// FormatCustomers is the customer file layout (docs/DATA.md).
const FormatCustomers = "customers"

// customerColumns are the columns with a meaning; any other column becomes
// a custom attribute named after its header.
var customerColumns = []string{
	"customer_id", "email", "phone", "family_name", "given_name",
	"family_name_kana", "given_name_kana", "locale", "country", "lifecycle_stage",
}

type customerLayout struct {
	col   map[string]int
	extra []int // attribute columns
	names []string
}

func detectCustomerLayout(header []string) (*customerLayout, error) {
	idx := headerIndex(header)
	l := &customerLayout{col: make(map[string]int), names: header}
	for _, c := range customerColumns {
		l.col[c] = -1
		if i, ok := idx[c]; ok {
			l.col[c] = i
		}
	}
	if l.col["customer_id"] < 0 && l.col["email"] < 0 && l.col["phone"] < 0 {
		return nil, kizuna.Errorf(kizuna.EINVALID,
			"the customer file header %q has none of customer_id, email, phone: at least one identifies each customer (see docs/DATA.md)",
			strings.Join(header, ","))
	}
	for i, h := range header {
		k := strings.ToLower(strings.TrimSpace(h))
		if k == "" || slices.Contains(customerColumns, k) {
			continue
		}
		if j := idx[k]; j != i {
			return nil, kizuna.Errorf(kizuna.EINVALID, "the customer file has the column %q twice", h)
		}
		l.extra = append(l.extra, i)
	}
	return l, nil
}

// parse turns one row into a resolve request.
func (l *customerLayout) parse(rec []string, source string) (customer.Resolve, error) {
	get := func(c string) string { return field(rec, l.col[c]) }
	keys := customer.Keys{
		UserID: get("customer_id"),
		Email:  strings.ToLower(get("email")),
		Phone:  get("phone"),
	}
	if keys == (customer.Keys{}) {
		return customer.Resolve{}, kizuna.Errorf(kizuna.EINVALID, "the row has no customer_id, email or phone")
	}
	// The service drops a malformed email or phone silently (right for
	// live events); an import rejects the row instead, so the file can be
	// fixed and imported again.
	var err error
	if keys.Email != "" {
		if keys.Email, err = customer.NormalizeEmail(keys.Email); err != nil {
			return customer.Resolve{}, err
		}
	}
	if keys.Phone != "" {
		// A national number ("020 7946 0118") is read in the row's country.
		if keys.Phone, err = customer.NormalizePhone(keys.Phone, phoneRegion(get("country"))); err != nil {
			return customer.Resolve{}, err
		}
	}
	t := &customer.Traits{
		FamilyName:     get("family_name"),
		GivenName:      get("given_name"),
		FamilyNameKana: get("family_name_kana"),
		GivenNameKana:  get("given_name_kana"),
		Email:          keys.Email,
		Phone:          keys.Phone,
		Country:        strings.ToUpper(get("country")),
		LifecycleStage: strings.ToLower(get("lifecycle_stage")),
	}
	if loc := get("locale"); loc != "" {
		tag, err := language.Parse(loc)
		if err != nil {
			return customer.Resolve{}, kizuna.FieldError("locale", "%q is not a BCP 47 language tag (e.g. ja-JP, en-GB)", loc)
		}
		t.Locale = tag.String()
	}
	if s := t.LifecycleStage; s != "" && !slices.Contains(customer.LifecycleStages, s) {
		return customer.Resolve{}, kizuna.FieldError("lifecycle_stage", "%q is not one of %s", s, strings.Join(customer.LifecycleStages, ", "))
	}
	for _, i := range l.extra {
		v := field(rec, i)
		if v == "" {
			continue // an empty cell says nothing; it does not erase
		}
		if t.Attributes == nil {
			t.Attributes = make(map[string]any)
		}
		t.Attributes[strings.TrimSpace(l.names[i])] = v
	}
	// An import row is the company's own record linking these identities,
	// like a Segment identify: it may merge the profiles they name.
	return customer.Resolve{Keys: keys, Traits: t, Merge: true, Source: source}, nil
}

// ImportCustomers reads a customer file from r and creates or updates a
// profile per row, matched by customer_id, email or phone.
func (im *Importer) ImportCustomers(ctx context.Context, r io.Reader) (_ *Summary, err error) {
	start := time.Now()
	sum := &Summary{Kind: "customers", Format: FormatCustomers}
	if err := auth.Require(ctx, auth.PermDataImport); err != nil {
		return sum, err
	}
	src, err := newCSVSource(r)
	if err != nil {
		return sum, err
	}
	layout, err := detectCustomerLayout(src.header)
	if err != nil {
		return sum, err
	}
	rej := newRejector(sum, im.opts, src.header)
	defer func() {
		// Even an import that stops early leaves its rejected rows written.
		if ferr := rej.flush(); err == nil {
			err = ferr
		}
	}()
	w := &customerWriter{im: im, rej: rej, created: make(map[int64]struct{}), matched: make(map[int64]struct{})}
	var batch []customerRow
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := w.write(ctx, batch)
		batch = batch[:0]
		sum.CustomersCreated, sum.CustomersUpdated = int64(len(w.created)), int64(len(w.matched))
		if err == nil && im.opts.Progress != nil {
			im.opts.Progress(*sum)
		}
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		rec, line, rowErr, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sum, fmt.Errorf("importer: read line %d: %w", line, err)
		}
		sum.Rows++
		if rowErr != nil {
			if err := rej.reject(line, rowErr, nil); err != nil {
				return sum, err
			}
			continue
		}
		req, err := layout.parse(rec, im.opts.Source)
		if err != nil {
			if err := rej.reject(line, err, rec); err != nil {
				return sum, err
			}
			continue
		}
		batch = append(batch, customerRow{line: line, rec: slices.Clone(rec), req: req})
		// Profiles are wider than order lines; a fifth of the row batch
		// keeps transactions short.
		if len(batch) >= max(1, im.opts.BatchRows/5) {
			if err := flush(); err != nil {
				return sum, err
			}
		}
	}
	if err := flush(); err != nil {
		return sum, err
	}
	sum.Duration = time.Since(start)
	return sum, nil
}

type customerRow struct {
	line int64
	rec  []string
	req  customer.Resolve
}

type customerWriter struct {
	im               *Importer
	rej              *rejector
	created, matched map[int64]struct{}
}

func (w *customerWriter) write(ctx context.Context, batch []customerRow) error {
	var ids []int64
	var before int64
	err := w.im.db.WriteTx(ctx, func(tx *db.Tx) error {
		var err error
		if before, err = maxCustomerID(ctx, tx); err != nil {
			return err
		}
		reqs := make([]customer.Resolve, len(batch))
		for i, r := range batch {
			reqs[i] = r.req
		}
		ids, err = w.im.customers.ResolveTx(ctx, tx, reqs)
		if err == nil && len(ids) != len(reqs) {
			err = fmt.Errorf("importer: resolve returned %d ids for %d requests", len(ids), len(reqs))
		}
		return err
	})
	switch {
	case err != nil && isInvalid(err) && len(batch) > 1:
		for _, r := range batch {
			if err := w.write(ctx, []customerRow{r}); err != nil {
				return err
			}
		}
		return nil
	case err != nil && isInvalid(err):
		return w.rej.reject(batch[0].line, err, batch[0].rec)
	case err != nil:
		return fmt.Errorf("importer: write customers: %w", err)
	}
	for _, id := range ids {
		if id > before {
			w.created[id] = struct{}{}
		} else if _, ok := w.created[id]; !ok {
			w.matched[id] = struct{}{}
		}
	}
	return nil
}

// phoneRegion is the region national phone numbers of a row are read in:
// its country when that is an ISO code, else the product default (JP).
func phoneRegion(country string) string {
	if r, err := language.ParseRegion(strings.TrimSpace(country)); err == nil && r.IsCountry() {
		return r.String()
	}
	return customer.DefaultRegion
}
