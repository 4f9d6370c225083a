package importer

// retailCountries maps the Online Retail Country column to ISO 3166-1
// alpha-2 codes, the form profiles keep so the UI can name a country in
// the reader's language. Names with no single code ("Channel Islands",
// "European Community") are kept as written; "Unspecified" means unknown
// and sets nothing.
var retailCountries = map[string]string{
	"Australia": "AU", "Austria": "AT", "Bahrain": "BH", "Belgium": "BE",
	"Brazil": "BR", "Canada": "CA", "Cyprus": "CY", "Czech Republic": "CZ",
	"Denmark": "DK", "EIRE": "IE", "Finland": "FI", "France": "FR",
	"Germany": "DE", "Greece": "GR", "Hong Kong": "HK", "Iceland": "IS",
	"Israel": "IL", "Italy": "IT", "Japan": "JP", "Lebanon": "LB",
	"Lithuania": "LT", "Malta": "MT", "Netherlands": "NL", "Norway": "NO",
	"Poland": "PL", "Portugal": "PT", "RSA": "ZA", "Saudi Arabia": "SA",
	"Singapore": "SG", "Spain": "ES", "Sweden": "SE", "Switzerland": "CH",
	"USA": "US", "United Arab Emirates": "AE", "United Kingdom": "GB",
	"Unspecified": "",
}

func retailCountry(name string) string {
	if code, ok := retailCountries[name]; ok {
		return code
	}
	return name
}
