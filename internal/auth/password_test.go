package auth

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kizuna-oss/kizuna"
)

func TestHashPasswordRoundTrip(t *testing.T) {
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`)
	for _, tc := range []struct {
		name     string
		params   HashParams
		password string
		wantM    string
	}{
		{"test params", TestHashParams, "correct horse battery", "64"},
		{"japanese pass phrase", TestHashParams, "きずなのパスワードです", "64"},
		{"custom params", HashParams{Memory: 128, Time: 2, Threads: 2, SaltLen: 8, KeyLen: 16}, "0123456789", "128"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := HashPassword(tc.password, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			m := phc.FindStringSubmatch(h)
			if m == nil || m[1] != tc.wantM {
				t.Fatalf("hash %q is not PHC argon2id with m=%s", h, tc.wantM)
			}
			if ok, err := VerifyPassword(tc.password, h); err != nil || !ok {
				t.Fatalf("right password: ok=%v err=%v", ok, err)
			}
			for _, wrong := range []string{tc.password + "x", strings.ToUpper(tc.password), "", tc.password[:len(tc.password)-1]} {
				if wrong == tc.password {
					continue // ToUpper of digits or kana
				}
				if ok, err := VerifyPassword(wrong, h); err != nil || ok {
					t.Fatalf("wrong password %q: ok=%v err=%v", wrong, ok, err)
				}
			}
			h2, _ := HashPassword(tc.password, tc.params)
			if h2 == h {
				t.Fatal("two hashes of one password are equal: the salt is not random")
			}
			if needsRehash(h, tc.params) {
				t.Fatal("needsRehash with the same parameters")
			}
			if !needsRehash(h, DefaultHashParams) {
				t.Fatal("no rehash after the parameters changed")
			}
		})
	}
}

func TestPasswordUnicodeNormalisation(t *testing.T) {
	for _, tc := range []struct{ set, typed string }{
		{"password123", "ｐａｓｓｗｏｒｄ１２３"}, // full-width IME input
		{"がぎぐげごパスワード", "\u304b\u3099\u304d\u3099\u304f\u3099\u3051\u3099\u3053\u3099\u30cf\u309a\u30b9\u30ef\u30fc\u30c8\u3099"}, // decomposed kana
		{"ｶﾀｶﾅのパスワードです", "カタカナのパスワードです"},                                                                                         // half-width katakana
	} {
		h, err := HashPassword(tc.set, TestHashParams)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := VerifyPassword(tc.typed, h); err != nil || !ok {
			t.Errorf("%q set, %q typed: ok=%v err=%v", tc.set, tc.typed, ok, err)
		}
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	good, _ := HashPassword("0123456789", TestHashParams)
	parts := strings.Split(good, "$")
	for _, bad := range []string{
		"",
		"plain",
		"$2a$10$abcdefghijklmnopqrstuv", // bcrypt
		strings.Replace(good, "argon2id", "argon2i", 1),
		strings.Replace(good, "v=19", "v=16", 1),
		strings.Replace(good, "m=64", "m=0", 1),
		strings.Replace(good, "m=64", "x=64", 1),
		strings.Replace(good, "p=1", "p=300", 1),
		strings.Join(append(parts[:4:4], "!!", parts[5]), "$"),
		strings.Join(append(parts[:5:5], ""), "$"),
		good + "$extra",
	} {
		if ok, err := VerifyPassword("0123456789", bad); err == nil || ok {
			t.Errorf("VerifyPassword(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		password, email string
		ok              bool
	}{
		{"0123456789", "a@example.com", true},
		{"012345678", "a@example.com", false}, // 9 characters
		{"パスワードパスワード", "a@example.com", true}, // 10 characters, 30 bytes
		{"パスワードパスワー", "a@example.com", false},
		{"alice@example.com", "alice@example.com", false},
		{"ALICE@EXAMPLE.COM", "alice@example.com", false},
		{strings.Repeat("a", 1024), "a@example.com", true},
		{strings.Repeat("a", 1025), "a@example.com", false},
		{"0123456789\xff", "a@example.com", false},
		{"ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "alice@example.com", false}, // the email in full width
	} {
		err := CheckPassword("password", tc.password, tc.email)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPassword(%q, %q) = %v, want ok=%v", tc.password, tc.email, err, tc.ok)
		}
		if err != nil && (kizuna.ErrorCode(err) != kizuna.EINVALID || kizuna.ErrorField(err) != "password") {
			t.Errorf("CheckPassword(%q): %v, want EINVALID on field password", tc.password, err)
		}
	}
}

func TestValidateEmail(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Alice@Example.COM", "alice@example.com"},
		{"  bob@example.co.jp ", "bob@example.co.jp"},
		{"a.b+tag@sub.example.org", "a.b+tag@sub.example.org"},
		{"", ""},
		{"alice", ""},
		{"alice@localhost", ""},
		{"Alice <alice@example.com>", ""},
		{"alice@example.com, bob@example.com", ""},
		{"alice@.com", ""},
		{"alice@example.", ""},
		{strings.Repeat("a", 250) + "@example.com", ""},
	} {
		got, err := ValidateEmail(tc.in)
		if tc.want == "" {
			if err == nil || kizuna.ErrorField(err) != "email" {
				t.Errorf("ValidateEmail(%q) = %q, %v; want an email field error", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ValidateEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSecret(t *testing.T) {
	good := "kzw_abcdefgh_" + strings.Repeat("a2b3c4d5", 4)
	for _, tc := range []struct {
		secret string
		kind   KeyKind
		prefix string
	}{
		{good, KeyWrite, "kzw_abcdefgh"},
		{good, KeyAPI, ""},
		{"kza" + good[3:], KeyAPI, "kza_abcdefgh"},
		{good[:len(good)-1], KeyWrite, ""},
		{good + "a", KeyWrite, ""},
		{strings.Replace(good, "_a2", "-a2", 1), KeyWrite, ""},
		{strings.Replace(good, "abcdefgh", "ABCDEFGH", 1), KeyWrite, ""},
		{strings.Replace(good, "a2b3", "a1b3", 1), KeyWrite, ""}, // 1 is not base32
		{"", KeyWrite, ""},
	} {
		p, ok := parseSecret(tc.secret, tc.kind)
		if p != tc.prefix || ok != (tc.prefix != "") {
			t.Errorf("parseSecret(%q, %s) = %q, %v; want %q", tc.secret, tc.kind, p, ok, tc.prefix)
		}
	}
}

func TestIPKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"192.0.2.1", "192.0.2.1"},
		{"192.0.2.1:54321", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"},
		{"[2001:db8:1:3::1]:443", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an ip", "not an ip"},
	} {
		if got := ipKey(tc.in); got != tc.want {
			t.Errorf("ipKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
