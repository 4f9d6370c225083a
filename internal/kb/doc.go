// Package kb is the knowledge base and the public help center behind it:
// help articles in Japanese and English, their drafts and published
// versions, full-text search, suggestions for agents replying to a ticket
// and for customers in the contact form, and the deflection report (how
// many customers found their answer without opening a ticket).
//
// # Data model
//
//   - A category (kb_categories) groups articles in the help center: a slug,
//     its name in Japanese and in English, and a position for ordering.
//   - An article (kb_articles) is one topic: a unique URL slug, an optional
//     category, a position within it. It holds no text itself.
//   - A version (kb_versions) is the text of one locale ("ja" or "en") of an
//     article: a title and a body in Markdown, its author, when it was
//     written and, once published, when. Versions are numbered 1, 2, … per
//     article and locale. At most one version per locale is a draft: the
//     newest, while unpublished. Saving a draft edits that draft, or starts
//     a new one when the newest version is already published. Published
//     versions are never changed again: they are the history.
//   - The live version (kb_live) of an article's locale is the one last
//     published. Publishing a locale's draft makes it live; the version it
//     replaces stays in the history. A new draft never touches the live
//     version: customers keep reading it until the draft is published.
//   - The search index (kb_search) holds the live versions only, as the
//     terms of internal/textsearch (character bigrams for Japanese, stemmed
//     words for English): an FTS5 table on SQLite ranked with bm25, a
//     tsvector with a GIN index on Postgres ranked with ts_rank. Drafts are
//     never indexed, so no search can reveal them.
//   - Help-center events (kb_events) record what an anonymous visitor did:
//     searched, viewed an article, marked it helpful or not, was shown
//     suggestions in the contact form, submitted a ticket. A visit is keyed
//     by the SHA-256 of a random session cookie, never by who it was.
//
// # Who may do what
//
// Staff methods check the caller's permission (auth.Require): kb.read
// (every role) for drafts, history and the deflection report; kb.write
// (agents and up) to create articles and save drafts; kb.publish (managers
// and admins) to publish and to arrange categories. The public methods —
// Categories, PublishedArticles, PublishedArticle, Search, Suggest and
// Record — need no principal, because they only ever read published
// versions (or record an anonymous event).
//
// # Suggestions
//
// Search takes what a person typed: every term must match (the last one as
// a prefix while typing). Suggest takes long text — a ticket's body, a
// contact-form message — whose words will never all be in one article: it
// keeps the terms that tell articles apart (dropping those in more than
// half of the locale's articles, such as です or "the") and asks for any of
// them, ranked by the engine with title matches weighing more.
package kb
