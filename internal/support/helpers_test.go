package support

import (
	"strconv"

	"github.com/kizuna-oss/kizuna/internal/customer"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func customerPatch(family, given string) customer.Patch {
	return customer.Patch{FamilyName: &family, GivenName: &given}
}
