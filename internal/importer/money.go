package importer

import (
	"strings"

	"golang.org/x/text/currency"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/customer"
)

// parseCurrency validates an ISO 4217 code.
func parseCurrency(field, s string) (string, error) {
	u, err := currency.ParseISO(strings.TrimSpace(s))
	if err != nil {
		return "", kizuna.FieldError(field, "%q is not an ISO 4217 currency code", s)
	}
	return u.String(), nil
}

// toMinor is the customer service's rounding rule, so imported amounts
// round exactly as ingested ones do.
func toMinor(amount float64, cur string) (int64, error) { return customer.ToMinor(amount, cur) }
