// Package calendar is business time: when a support desk is open, and how
// much open time lies between two instants.
//
// A Config is what an admin edits — weekly hours per weekday (split shifts
// for a lunch break), a time zone (Asia/Tokyo by default), Japanese public
// holidays on or off, dated and annual closures (年末年始, お盆), public
// holidays the desk works anyway, and special hours for single dates. New
// validates it into an immutable Calendar whose methods AddBusiness,
// BusinessBetween, IsOpen and NextOpen do the arithmetic by stepping over
// open intervals, never minute by minute.
//
// JapaneseHolidays implements the Act on National Holidays from its rules
// (fixed days, Happy Monday days, the equinox formula, 振替休日 and 国民の休日,
// and the special acts of 2019–2021) for 1980–2099, with names in Japanese
// and English. It is written here rather than imported: the one maintained
// general-purpose Go holiday library on the module proxy
// (github.com/rickar/cal/v2, last release 2023) hard-codes the citizens'
// holidays of a few years, applies a plain Sunday→Monday substitution that
// is wrong when the Monday is itself a holiday, and has no Japanese names;
// the Act's rules are short, public and stable, and the tests check every
// holiday of 2019–2027 against the Cabinet Office list.
package calendar
