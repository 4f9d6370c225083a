// Package stats turns survey answers into numbers a customer-success team
// can act on without being fooled by chance. It is pure computation: no
// database, no I/O. The store hands it counts (GROUP BY score), it hands
// back estimates with their uncertainty, and the web layer draws them.
//
// # What each number means
//
// NPS (Net Promoter Score). "How likely are you to recommend us?" on 0–10.
// 9–10 are promoters, 7–8 passives, 0–6 detractors. NPS = % promoters −
// % detractors, from −100 (everyone a detractor) to +100. See NPS.
//
// CSAT (customer satisfaction). Usually 1–5. The headline "CSAT 82%" is the
// top-2-box: the share answering 4 or 5. We also give the mean answer and
// the full distribution. See CSAT and TopBox.
//
// CES (customer effort). "The company made it easy to handle my issue",
// 1–7; higher is easier. We give the mean. See CES.
//
// Expectation vs. perception. For each attribute (quality, price,
// delivery, staff …) the customer says what they expected and what they
// got, on the same scale. Each answer is dissatisfied (got less than
// expected), satisfied (got what they expected, or a little more) or
// delighted (got at least DelightThreshold points more; 2 by default — see
// ClassifyGap for why). We give the three shares and the average gap per
// attribute. See ExpectationGap.
//
// Key drivers. Which attribute's gap moves NPS most? We report, per
// attribute, how many NPS points one point of gap is worth with the others
// held fixed (Coefficient) and its share of everything the gaps explain
// together (Importance, a Shapley decomposition that shares credit fairly
// when attributes move together). Rank by Importance. See KeyDrivers.
//
// Change. "NPS went from 31 to 38 — is that real?" Every comparison gives
// the difference, its interval, a p-value and Significant: true when a
// change this large would arise from sampling noise alone less than 5% of
// the time (α = 1 − Level). See CompareNPS, CompareProportions (CSAT
// top-2-box) and CompareMeans (means, CES).
//
// # The interval, and why to trust it
//
// Every number comes as an Estimate: Value with Low and High, a range that
// contains the true value (what you would see if every customer answered)
// in 95% of samples. "NPS 20 (4 to 36)" means: from these 100 answers the
// true NPS is very likely between 4 and 36, so do not celebrate a move from
// 18 to 22.
//
// "95%" is a promise we test rather than assume. The package's tests draw
// 10,000–20,000 simulated surveys from populations whose true NPS, CSAT or
// mean we know, and count how often the interval contains it. For the
// intervals used by default:
//
//	NPS (score interval), NPS ≈ 0 / +60 / −40:  94.6–95.3% at n = 100 and 400;
//	                                            computed exactly (no simulation): 95.0% at
//	                                            n = 100, 94.6–95.4% at n = 30
//	NPS change between two periods:             95.0–95.1%
//	CSAT mean / CES mean (t interval):          94.6–95.0% at n ≥ 100
//	CSAT top-2-box (Wilson), averaged over p:   94.9–95.2% at n ≥ 100
//
// The simple textbook NPS interval ("Wald", kept as an option) covers only
// 92–93% at n = 30, and 75% when nearly everyone is a promoter: it draws a
// confident number where there is none. That is why it is not the default.
//
// Tests of change say "significant" 4.7–5.3% of the time when nothing
// changed (the promised 5%), and find a 15-point NPS change with 600
// answers per period about 90% of the time.
//
// # Small samples
//
// Below MinN answers (30 by default) a result carries LowSample = true and
// a Reason code, and the UI shows a warning instead of a confident number:
// at n = 30 an NPS interval is still about ±30 points wide. With no answers
// at all there is no value — Value is missing (JSON null), never 0, because
// an NPS of 0 is a real result. Number is the type that makes a missing
// value explicit.
//
// # References
//
// Each function's comment gives its formula and the paper it comes from:
// Rocks 2016 and Tango 1998 (NPS), Wilson 1927 and Brown, Cai & DasGupta
// 2001 (proportions), Goodman 1965 (several shares at once), Newcombe 1998
// and Zou & Donner 2008 (differences), Welch 1947 (means), Lindeman,
// Merenda & Gold 1980 and Grömping 2006 (driver importance).
package stats
