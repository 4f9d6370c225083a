package calendar

import (
	"strings"
	"testing"
	"time"
)

// cabinetOffice is every public holiday of 2019–2027 as published by the
// Cabinet Office (内閣府「国民の祝日について」), written out by hand, not
// generated: "date name" per line.
const cabinetOffice = `
2019-01-01 元日
2019-01-14 成人の日
2019-02-11 建国記念の日
2019-03-21 春分の日
2019-04-29 昭和の日
2019-04-30 国民の休日
2019-05-01 天皇の即位の日
2019-05-02 国民の休日
2019-05-03 憲法記念日
2019-05-04 みどりの日
2019-05-05 こどもの日
2019-05-06 振替休日
2019-07-15 海の日
2019-08-11 山の日
2019-08-12 振替休日
2019-09-16 敬老の日
2019-09-23 秋分の日
2019-10-14 体育の日
2019-10-22 即位礼正殿の儀の行われる日
2019-11-03 文化の日
2019-11-04 振替休日
2019-11-23 勤労感謝の日
2020-01-01 元日
2020-01-13 成人の日
2020-02-11 建国記念の日
2020-02-23 天皇誕生日
2020-02-24 振替休日
2020-03-20 春分の日
2020-04-29 昭和の日
2020-05-03 憲法記念日
2020-05-04 みどりの日
2020-05-05 こどもの日
2020-05-06 振替休日
2020-07-23 海の日
2020-07-24 スポーツの日
2020-08-10 山の日
2020-09-21 敬老の日
2020-09-22 秋分の日
2020-11-03 文化の日
2020-11-23 勤労感謝の日
2021-01-01 元日
2021-01-11 成人の日
2021-02-11 建国記念の日
2021-02-23 天皇誕生日
2021-03-20 春分の日
2021-04-29 昭和の日
2021-05-03 憲法記念日
2021-05-04 みどりの日
2021-05-05 こどもの日
2021-07-22 海の日
2021-07-23 スポーツの日
2021-08-08 山の日
2021-08-09 振替休日
2021-09-20 敬老の日
2021-09-23 秋分の日
2021-11-03 文化の日
2021-11-23 勤労感謝の日
2022-01-01 元日
2022-01-10 成人の日
2022-02-11 建国記念の日
2022-02-23 天皇誕生日
2022-03-21 春分の日
2022-04-29 昭和の日
2022-05-03 憲法記念日
2022-05-04 みどりの日
2022-05-05 こどもの日
2022-07-18 海の日
2022-08-11 山の日
2022-09-19 敬老の日
2022-09-23 秋分の日
2022-10-10 スポーツの日
2022-11-03 文化の日
2022-11-23 勤労感謝の日
2023-01-01 元日
2023-01-02 振替休日
2023-01-09 成人の日
2023-02-11 建国記念の日
2023-02-23 天皇誕生日
2023-03-21 春分の日
2023-04-29 昭和の日
2023-05-03 憲法記念日
2023-05-04 みどりの日
2023-05-05 こどもの日
2023-07-17 海の日
2023-08-11 山の日
2023-09-18 敬老の日
2023-09-23 秋分の日
2023-10-09 スポーツの日
2023-11-03 文化の日
2023-11-23 勤労感謝の日
2024-01-01 元日
2024-01-08 成人の日
2024-02-11 建国記念の日
2024-02-12 振替休日
2024-02-23 天皇誕生日
2024-03-20 春分の日
2024-04-29 昭和の日
2024-05-03 憲法記念日
2024-05-04 みどりの日
2024-05-05 こどもの日
2024-05-06 振替休日
2024-07-15 海の日
2024-08-11 山の日
2024-08-12 振替休日
2024-09-16 敬老の日
2024-09-22 秋分の日
2024-09-23 振替休日
2024-10-14 スポーツの日
2024-11-03 文化の日
2024-11-04 振替休日
2024-11-23 勤労感謝の日
2025-01-01 元日
2025-01-13 成人の日
2025-02-11 建国記念の日
2025-02-23 天皇誕生日
2025-02-24 振替休日
2025-03-20 春分の日
2025-04-29 昭和の日
2025-05-03 憲法記念日
2025-05-04 みどりの日
2025-05-05 こどもの日
2025-05-06 振替休日
2025-07-21 海の日
2025-08-11 山の日
2025-09-15 敬老の日
2025-09-23 秋分の日
2025-10-13 スポーツの日
2025-11-03 文化の日
2025-11-23 勤労感謝の日
2025-11-24 振替休日
2026-01-01 元日
2026-01-12 成人の日
2026-02-11 建国記念の日
2026-02-23 天皇誕生日
2026-03-20 春分の日
2026-04-29 昭和の日
2026-05-03 憲法記念日
2026-05-04 みどりの日
2026-05-05 こどもの日
2026-05-06 振替休日
2026-07-20 海の日
2026-08-11 山の日
2026-09-21 敬老の日
2026-09-22 国民の休日
2026-09-23 秋分の日
2026-10-12 スポーツの日
2026-11-03 文化の日
2026-11-23 勤労感謝の日
2027-01-01 元日
2027-01-11 成人の日
2027-02-11 建国記念の日
2027-02-23 天皇誕生日
2027-03-21 春分の日
2027-03-22 振替休日
2027-04-29 昭和の日
2027-05-03 憲法記念日
2027-05-04 みどりの日
2027-05-05 こどもの日
2027-07-19 海の日
2027-08-11 山の日
2027-09-20 敬老の日
2027-09-23 秋分の日
2027-10-11 スポーツの日
2027-11-03 文化の日
2027-11-23 勤労感謝の日
`

func TestJapaneseHolidaysMatchCabinetOffice(t *testing.T) {
	want := map[int][]string{}
	for _, line := range strings.Split(strings.TrimSpace(cabinetOffice), "\n") {
		d, err := ParseDate(line[:10])
		if err != nil {
			t.Fatal(err)
		}
		want[d.Year] = append(want[d.Year], line)
	}
	for year := 2019; year <= 2027; year++ {
		var got []string
		for _, h := range JapaneseHolidays(year) {
			got = append(got, h.Date.String()+" "+h.NameJA)
		}
		if g, w := strings.Join(got, "\n"), strings.Join(want[year], "\n"); g != w {
			t.Errorf("%d holidays:\n got:\n%s\nwant:\n%s", year, g, w)
		}
	}
}

func TestJapaneseHolidayTrickyDays(t *testing.T) {
	tests := []struct {
		date   string
		ja, en string
		kind   HolidayKind
	}{
		{"2019-04-30", "国民の休日", "Citizens' Holiday", CitizensHoliday},
		{"2019-05-01", "天皇の即位の日", "The Day of the Emperor's Enthronement", NationalHoliday},
		{"2019-05-02", "国民の休日", "Citizens' Holiday", CitizensHoliday},
		{"2019-10-22", "即位礼正殿の儀の行われる日", "The Day of the Enthronement Ceremony", NationalHoliday},
		{"2020-07-23", "海の日", "Marine Day", NationalHoliday},
		{"2020-07-24", "スポーツの日", "Sports Day", NationalHoliday},
		{"2020-08-10", "山の日", "Mountain Day", NationalHoliday},
		{"2021-07-22", "海の日", "Marine Day", NationalHoliday},
		{"2021-07-23", "スポーツの日", "Sports Day", NationalHoliday},
		{"2021-08-08", "山の日", "Mountain Day", NationalHoliday},
		{"2021-08-09", "振替休日", "Substitute Holiday", SubstituteHoliday},
		{"2026-09-22", "国民の休日", "Citizens' Holiday", CitizensHoliday},
		{"2024-02-12", "振替休日", "Substitute Holiday", SubstituteHoliday},
		{"2025-11-24", "振替休日", "Substitute Holiday", SubstituteHoliday},
		{"2026-05-06", "振替休日", "Substitute Holiday", SubstituteHoliday},
		{"2019-10-14", "体育の日", "Health and Sports Day", NationalHoliday},
		{"2025-02-23", "天皇誕生日", "The Emperor's Birthday", NationalHoliday},
		// Earlier law: the old Emperor's birthday, the pre-2007 Monday-only
		// substitute rule and pre-Happy-Monday fixed dates.
		{"2018-12-23", "天皇誕生日", "The Emperor's Birthday", NationalHoliday},
		{"1988-04-29", "天皇誕生日", "The Emperor's Birthday", NationalHoliday},
		{"1989-02-24", "昭和天皇の大喪の礼", "The Funeral Ceremony of Emperor Showa", NationalHoliday},
		{"1998-05-04", "振替休日", "Substitute Holiday", SubstituteHoliday}, // 5/3 was a Sunday
		{"1995-05-04", "国民の休日", "Citizens' Holiday", CitizensHoliday},
		{"1999-01-15", "成人の日", "Coming of Age Day", NationalHoliday},
		{"2009-09-22", "国民の休日", "Citizens' Holiday", CitizensHoliday},
		{"2009-05-06", "振替休日", "Substitute Holiday", SubstituteHoliday}, // 5/3 Sunday, 2007 rule
	}
	for _, tt := range tests {
		d, _ := ParseDate(tt.date)
		h, ok := JapaneseHoliday(d)
		if !ok || h.NameJA != tt.ja || h.NameEN != tt.en || h.Kind != tt.kind {
			t.Errorf("JapaneseHoliday(%s) = %+v, %v; want %s / %s (%s)", tt.date, h, ok, tt.ja, tt.en, tt.kind)
		}
	}

	// The Olympic special measures moved these days away; their usual
	// dates were ordinary days in 2020 and 2021.
	for _, s := range []string{"2020-07-20", "2020-08-11", "2020-10-12", "2021-07-19", "2021-08-11", "2021-10-11"} {
		d, _ := ParseDate(s)
		if h, ok := JapaneseHoliday(d); ok {
			t.Errorf("%s should not be a holiday (Olympic moves), got %+v", s, h)
		}
	}
	if _, ok := JapaneseHoliday(Date{2019, time.December, 23}); ok {
		t.Error("2019-12-23 is not a holiday: the Emperor's birthday moved to 2/23 from 2020")
	}
	if h, _ := JapaneseHoliday(Date{2006, time.May, 4}); h.Kind != CitizensHoliday {
		t.Errorf("2006-05-04 = %+v, want citizens' holiday (Greenery Day moved there only in 2007)", h)
	}
}

func TestJapaneseHolidaysInvariants(t *testing.T) {
	if JapaneseHolidays(FirstHolidayYear-1) != nil || JapaneseHolidays(LastHolidayYear+1) != nil {
		t.Error("years outside the supported range must return nil, not a guess")
	}
	for y := FirstHolidayYear; y <= LastHolidayYear; y++ {
		hs := JapaneseHolidays(y)
		if len(hs) < 12 || len(hs) > 24 {
			t.Errorf("%d: %d holidays is implausible", y, len(hs))
		}
		for i, h := range hs {
			if i > 0 && !hs[i-1].Date.Before(h.Date) {
				t.Errorf("%d: holidays not in strict date order at %s", y, h.Date)
			}
			if h.NameJA == "" || h.NameEN == "" {
				t.Errorf("%s: missing name", h.Date)
			}
			if h.Kind == SubstituteHoliday && y >= 2007 {
				// The substitute follows a run of holidays that starts on a Sunday.
				p := h.Date.AddDays(-1)
				for {
					ph, ok := JapaneseHoliday(p)
					if !ok || ph.Kind != NationalHoliday {
						t.Errorf("%s: substitute holiday not preceded by a holiday run", h.Date)
						break
					}
					if p.Weekday() == time.Sunday {
						break
					}
					p = p.AddDays(-1)
				}
			}
		}
		// Vernal equinox day is always 19–21 March, autumnal 22–24 September.
		for _, h := range hs {
			if h.NameJA == "春分の日" && (h.Date.Day < 19 || h.Date.Day > 21) ||
				h.NameJA == "秋分の日" && (h.Date.Day < 22 || h.Date.Day > 24) {
				t.Errorf("equinox out of range: %+v", h)
			}
		}
	}
}
