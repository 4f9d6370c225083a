package feedback

// Form is a survey version ready to render in one locale: every text
// resolved, every scale expanded into its points. The web layer (the form,
// the builder's preview, the widget) draws it without knowing the types'
// rules; templates escape the texts.
type Form struct {
	SurveyID int64  `json:"survey_id"`
	Slug     string `json:"slug"`
	Name     string `json:"name"`
	Version  int    `json:"version"`
	Locale   string `json:"locale"`
	// Title is the definition's respondent-facing title ("" when it has
	// none: show Name).
	Title    string     `json:"title,omitempty"`
	Intro    string     `json:"intro,omitempty"`
	ThankYou string     `json:"thank_you,omitempty"`
	Pages    []FormPage `json:"pages"`
}

// FormPage is one page of a Form.
type FormPage struct {
	Key       string         `json:"key"`
	Title     string         `json:"title,omitempty"`
	Questions []FormQuestion `json:"questions"`
	// Conditional: whether the page depends on earlier answers (the form
	// asks the server which page comes next).
	Conditional bool `json:"conditional,omitempty"`
}

// FormQuestion is one question of a Form.
type FormQuestion struct {
	Key         string       `json:"key"`
	Type        QuestionType `json:"type"`
	Text        string       `json:"text"`
	Help        string       `json:"help,omitempty"`
	Required    bool         `json:"required,omitempty"`
	Points      []FormPoint  `json:"points,omitempty"`
	MinLabel    string       `json:"min_label,omitempty"`
	MaxLabel    string       `json:"max_label,omitempty"`
	Options     []FormOption `json:"options,omitempty"`
	Attributes  []FormOption `json:"attributes,omitempty"`
	ShowIf      *Condition   `json:"show_if,omitempty"`
	Conditional bool         `json:"conditional,omitempty"`
}

// FormPoint is one point of a scale.
type FormPoint struct {
	Value int    `json:"value"`
	Label string `json:"label,omitempty"`
}

// FormOption is a choice or an expectation attribute.
type FormOption struct {
	Key  string `json:"key"`
	Text string `json:"text"`
}

// NormalizeLocale maps anything but Japanese to English, the product's two
// languages.
func NormalizeLocale(l string) string {
	if len(l) >= 2 && (l[:2] == "ja" || l[:2] == "JA") {
		return "ja"
	}
	return "en"
}

// Render resolves a definition for locale ("ja" or "en").
func Render(d Definition, locale string) Form {
	locale = NormalizeLocale(locale)
	d = Normalize(d)
	f := Form{Locale: locale, Title: d.Title.In(locale), Intro: d.Intro.In(locale), ThankYou: d.ThankYou.In(locale), Pages: []FormPage{}}
	for _, p := range d.Pages {
		fp := FormPage{Key: p.Key, Title: p.Title.In(locale), Conditional: p.ShowIf != nil, Questions: []FormQuestion{}}
		for _, q := range p.Questions {
			fq := FormQuestion{Key: q.Key, Type: q.Type, Text: q.Text.In(locale), Help: q.Help.In(locale),
				Required: q.Required, ShowIf: q.ShowIf, Conditional: q.ShowIf != nil}
			if s := q.Scale; s != nil {
				fq.MinLabel, fq.MaxLabel = s.MinLabel.In(locale), s.MaxLabel.In(locale)
				for v := s.Min; v <= s.Max; v++ {
					pt := FormPoint{Value: v}
					if i := v - s.Min; i < len(s.Labels) {
						pt.Label = s.Labels[i].In(locale)
					}
					fq.Points = append(fq.Points, pt)
				}
			}
			for _, o := range q.Options {
				fq.Options = append(fq.Options, FormOption{Key: o.Key, Text: o.Text.In(locale)})
			}
			for _, o := range q.Attributes {
				fq.Attributes = append(fq.Attributes, FormOption{Key: o.Key, Text: o.Text.In(locale)})
			}
			fp.Questions = append(fp.Questions, fq)
		}
		f.Pages = append(f.Pages, fp)
	}
	return f
}
