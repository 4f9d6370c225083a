package importer

import (
	"math"
	"strings"

	"golang.org/x/text/currency"

	"github.com/kizuna-oss/kizuna"
)

// parseCurrency validates an ISO 4217 code.
func parseCurrency(field, s string) (string, error) {
	u, err := currency.ParseISO(strings.TrimSpace(s))
	if err != nil {
		return "", kizuna.FieldError(field, "%q is not an ISO 4217 currency code", s)
	}
	return u.String(), nil
}

// toMinor converts an amount to integer minor units of cur (pence for GBP,
// none for JPY), rounding half away from zero.
//
// INTEGRATION(lead): the customer branch adds customer.ToMinor with this
// signature; once it is on main this becomes a call to it so every path
// into the store uses one rounding rule.
func toMinor(amount float64, cur string) (int64, error) {
	u, err := currency.ParseISO(cur)
	if err != nil {
		return 0, kizuna.FieldError("currency", "%q is not an ISO 4217 currency code", cur)
	}
	scale, _ := currency.Standard.Rounding(u)
	v := math.Round(amount * math.Pow10(scale))
	if math.IsNaN(v) || math.Abs(v) > 1<<53 {
		return 0, kizuna.FieldError("amount", "amount %v is out of range", amount)
	}
	return int64(v), nil
}
