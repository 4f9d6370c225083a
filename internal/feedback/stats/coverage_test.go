package stats

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// Coverage and calibration tests.
//
// Each draws many samples from a known distribution and counts how often a
// 95% interval contains the true value (coverage) or how often a 5% test
// says "significant" when nothing changed (false-positive rate). With
// 10,000 trials the Monte Carlo standard error of a 95% coverage is
// √(0.95·0.05/10,000) = 0.22 percentage points and of a 5% rate also 0.22;
// the NPS scenarios use 20,000 trials (SE 0.15). Seeds are fixed (PCG,
// derived from the scenario name), so every run draws the same samples and
// the test is deterministic.
//
// Figures measured with this file (coverage, %): see the t.Log output of
// go test -v -run 'Coverage|Calibration'; they are summarised in doc.go.

var (
	coverageTrials    = 10000
	npsCoverageTrials = 20000
	powerTrials       = 2000 // power is reported, ±1% is plenty
)

// TestMain keeps go test -short quick (a tenth of the trials, looser
// bands are then not asserted); the full run is the default.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		coverageTrials, npsCoverageTrials, powerTrials = 1000, 2000, 500
	}
	os.Exit(m.Run())
}

// assertBand reports whether the coverage assertions are meaningful: with
// the -short trial counts the Monte Carlo error (~0.7%) is too large for a
// ±1% band, so only the full run asserts them.
func assertBand() bool { return !testing.Short() }

// bandErrorf fails the test in a full run and only logs under -short.
func bandErrorf(t *testing.T, format string, args ...any) {
	t.Helper()
	if assertBand() {
		t.Errorf(format, args...)
		return
	}
	t.Logf("(-short, not asserted) "+format, args...)
}

// newSource returns a deterministic PCG source for a named scenario, so
// adding a scenario never changes another's draws.
func newSource(name string) *rand.PCG {
	var h uint64 = 14695981039346656037 // FNV-1a
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return rand.NewPCG(h, 0x6b697a756e61) // "kizuna"
}

// drawMultinomial draws category counts of a sample of size n with
// probabilities p, by sequential conditional binomials (exact, and O(k)
// rather than O(n)).
func drawMultinomial(src rand.Source, n int, p []float64) []int {
	counts := make([]int, len(p))
	rest, mass := n, 1.0
	for i, pi := range p {
		if i == len(p)-1 || rest == 0 {
			counts[i] = rest
			break
		}
		q := math.Min(1, pi/mass)
		if q > 0 {
			counts[i] = int(distuv.Binomial{N: float64(rest), P: q, Src: src}.Rand())
		}
		rest -= counts[i]
		mass -= pi
	}
	return counts
}

func drawNPS(src rand.Source, n int, pp, pd float64) NPSCounts {
	c := drawMultinomial(src, n, []float64{pp, 1 - pp - pd, pd})
	return NPSCounts{Promoters: c[0], Passives: c[1], Detractors: c[2]}
}

func contains(e Estimate, v float64) bool {
	lo, okl := e.Low.Get()
	hi, okh := e.High.Get()
	return okl && okh && lo <= v && v <= hi
}

type npsScenario struct {
	name   string
	pp, pd float64
}

var npsScenarios = []npsScenario{
	{"NPS≈0 (35/30/35)", 0.35, 0.35},
	{"NPS≈+60 (70/20/10)", 0.70, 0.10},
	{"NPS≈−40 (15/30/55)", 0.15, 0.55},
}

// extremeScenario is near +100, where Wald breaks down.
var extremeScenario = npsScenario{"NPS≈+90 (92/6/2)", 0.92, 0.02}

// goodmanShares is the pseudo-method under which npsCoverage reports
// whether all three Goodman share intervals held at once.
const goodmanShares Method = "goodman_simultaneous"

// npsCoverage returns, per method, the share of trials whose interval
// contains the true NPS, computing one interval per distinct outcome.
func npsCoverage(t *testing.T, s npsScenario, n int) map[Method]float64 {
	t.Helper()
	methods := []Method{MethodWald, MethodAdjustedWald, MethodScore}
	src := newSource(fmt.Sprintf("nps/%s/%d", s.name, n))
	truth := 100 * (s.pp - s.pd)
	type key struct{ a, b int }
	cache := map[key][]bool{}
	hits := make([]int, len(methods)+1)
	for range npsCoverageTrials {
		c := drawNPS(src, n, s.pp, s.pd)
		k := key{c.Promoters, c.Detractors}
		in, ok := cache[k]
		if !ok {
			in = make([]bool, len(methods)+1)
			var r NPSResult
			for i, m := range methods {
				var err error
				if r, err = NPS(c, Options{NPSMethod: m}); err != nil {
					t.Fatal(err)
				}
				in[i] = contains(r.NPS, truth)
			}
			in[len(methods)] = contains(r.Promoters, s.pp) && contains(r.Passives, 1-s.pp-s.pd) && contains(r.Detractors, s.pd)
			cache[k] = in
		}
		for i, hit := range in {
			if hit {
				hits[i]++
			}
		}
	}
	out := map[Method]float64{}
	for i, m := range append(methods, goodmanShares) {
		out[m] = float64(hits[i]) / float64(npsCoverageTrials)
	}
	return out
}

// exactNPSCoverage sums the trinomial probabilities of the outcomes whose
// interval contains the truth: coverage without Monte Carlo noise.
func exactNPSCoverage(t *testing.T, n int, pp, pd float64, m Method) float64 {
	t.Helper()
	truth := 100 * (pp - pd)
	lf := func(k int) float64 { v, _ := math.Lgamma(float64(k) + 1); return v }
	cov := 0.0
	for a := 0; a <= n; a++ {
		for b := 0; a+b <= n; b++ {
			lp := lf(n) - lf(a) - lf(b) - lf(n-a-b) +
				float64(a)*math.Log(pp) + float64(b)*math.Log(pd) + float64(n-a-b)*math.Log(1-pp-pd)
			if lp < -35 { // < 1e-15: cannot move the sum
				continue
			}
			r, err := NPS(NPSCounts{Promoters: a, Detractors: b, Passives: n - a - b}, Options{NPSMethod: m})
			if err != nil {
				t.Fatal(err)
			}
			if contains(r.NPS, truth) {
				cov += math.Exp(lp)
			}
		}
	}
	return cov
}

// TestNPSCoverage decides and guards the default NPS interval.
//
// Measured (20,000 samples per cell; exact enumeration in TestNPSExactCoverage
// agrees to within Monte Carlo error). Over a grid of 45 true distributions
// (promoter and detractor shares 5%, 15%, … 95%), exact coverage was:
//
//	n = 30:  Wald mean 93.1%, min 89.9% (42/45 below 94%)
//	         adjusted Wald mean 95.0%, min 94.1%;  score mean 95.2%, min 93.8%
//	n = 100: Wald mean 94.4%, min 92.9%
//	         adjusted Wald mean 95.0%, min 94.8%;  score mean 95.1%, min 94.8%
//
// and near +90 (92/6/2): Wald 75.4% (n = 30) and 92.2% (n = 100); adjusted
// Wald 96.5% / 96.3% (conservative: wider than needed); score 95.3% /
// 96.1%. The score interval is the closest to nominal overall and the
// least conservative near ±100, so it is the default; adjusted Wald has a
// slightly better worst case at n = 30 and stays available.
//
// Asserted: score within [94%, 96%] for n ≥ 100 in the three main
// scenarios; at n = 30 within [93%, 97%] (its exact worst case over the grid
// is 93.8%, and discreteness moves single points by ±1%); near +90 at least
// 94% (it errs on the safe side there); Goodman's three shares hold
// simultaneously at least 94% of the time.
func TestNPSCoverage(t *testing.T) {
	for _, s := range append(npsScenarios, extremeScenario) {
		for _, n := range []int{30, 100, 400} {
			cov := npsCoverage(t, s, n)
			t.Logf("%-20s n=%3d  wald %.4f  adjusted_wald %.4f  score %.4f  goodman shares (all 3) %.4f",
				s.name, n, cov[MethodWald], cov[MethodAdjustedWald], cov[MethodScore], cov[goodmanShares])
			score := cov[DefaultNPSMethod]
			switch {
			case s == extremeScenario:
				if score < 0.94 {
					bandErrorf(t, "%s n=%d: score coverage %.4f < 94%%", s.name, n, score)
				}
				if n == 30 && cov[MethodWald] > 0.85 {
					bandErrorf(t, "%s n=30: Wald coverage %.4f; expected its known collapse near +100", s.name, cov[MethodWald])
				}
			case n >= 100:
				if score < 0.94 || score > 0.96 {
					bandErrorf(t, "%s n=%d: default interval coverage %.4f outside [94%%, 96%%]", s.name, n, score)
				}
			default:
				if score < 0.93 || score > 0.97 {
					bandErrorf(t, "%s n=%d: default interval coverage %.4f outside [93%%, 97%%]", s.name, n, score)
				}
			}
			if n >= 100 && cov[goodmanShares] < 0.94 {
				bandErrorf(t, "%s n=%d: Goodman simultaneous coverage %.4f < 94%%", s.name, n, cov[goodmanShares])
			}
		}
	}
}

// TestNPSExactCoverage computes coverage exactly (every outcome weighted by
// its trinomial probability) for n = 30 and 100, so the assertion carries
// no Monte Carlo noise at all.
func TestNPSExactCoverage(t *testing.T) {
	for _, s := range npsScenarios {
		for _, n := range []int{30, 100} {
			got := exactNPSCoverage(t, n, s.pp, s.pd, DefaultNPSMethod)
			wald := exactNPSCoverage(t, n, s.pp, s.pd, MethodWald)
			t.Logf("%-20s n=%3d exact coverage: score %.4f  wald %.4f", s.name, n, got, wald)
			lo, hi := 0.945, 0.955
			if n < 100 {
				lo, hi = 0.935, 0.965
			}
			if got < lo || got > hi {
				t.Errorf("%s n=%d: exact coverage %.4f outside [%.3f, %.3f]", s.name, n, got, lo, hi)
			}
		}
	}
}

// TestWilsonCoverage measures the CSAT top-box interval.
//
// A single binomial proportion has a lattice of outcomes, so the coverage
// of ANY non-randomised interval at one fixed p oscillates with n and p
// (Brown, Cai & DasGupta 2001, fig. 5). Exactly computed, Wilson at p = 0.7,
// 0.8, 0.85, 0.9 covers 93.0–97.4% at n = 30, 93.3–94.1% at n = 100 and
// 94.2–95.0% at n = 400. Averaged over a small range of true values (the
// true CSAT of a product is not one of the lattice's lucky points), it is
// at nominal. Asserted: at fixed p within [92.5%, 97.5%] for every n; averaged
// over p in ±0.05 within [94%, 96%] for n ≥ 100.
func TestWilsonCoverage(t *testing.T) {
	for _, p := range []float64{0.5, 0.8, 0.9} {
		for _, n := range []int{30, 100, 400} {
			fixed := wilsonCoverage(t, n, p, p)
			avg := wilsonCoverage(t, n, p-0.05, p+0.05)
			t.Logf("p=%.2f n=%3d  Wilson coverage at fixed p %.4f, averaged over p±0.05 %.4f", p, n, fixed, avg)
			if fixed < 0.925 || fixed > 0.975 {
				bandErrorf(t, "p=%.2f n=%d: fixed-p coverage %.4f outside [92.5%%, 97.5%%]", p, n, fixed)
			}
			if n >= 100 && (avg < 0.94 || avg > 0.96) {
				bandErrorf(t, "p=%.2f n=%d: averaged coverage %.4f outside [94%%, 96%%]", p, n, avg)
			}
		}
	}
}

// wilsonCoverage draws p uniformly from [pLo, pHi] and x ~ Binomial(n, p).
func wilsonCoverage(t *testing.T, n int, pLo, pHi float64) float64 {
	t.Helper()
	src := newSource(fmt.Sprintf("wilson/%v/%v/%d", pLo, pHi, n))
	r := rand.New(src)
	hits := 0
	for range coverageTrials {
		p := pLo + (pHi-pLo)*r.Float64()
		x := int(distuv.Binomial{N: float64(n), P: p, Src: src}.Rand())
		e, err := Wilson(x, n, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if contains(e, p) {
			hits++
		}
	}
	return float64(hits) / float64(coverageTrials)
}

type ratingScenario struct {
	name  string
	scale Scale
	p     []float64
}

var ratingScenarios = []ratingScenario{
	{"CSAT mostly satisfied", CSATScale, []float64{0.05, 0.05, 0.15, 0.35, 0.40}},
	{"CSAT polarised", CSATScale, []float64{0.25, 0.05, 0.05, 0.15, 0.50}},
	{"CES 1–7 skewed", CESScale, []float64{0.02, 0.03, 0.05, 0.10, 0.20, 0.30, 0.30}},
}

func (s ratingScenario) mean() float64 {
	m := 0.0
	for i, p := range s.p {
		m += p * float64(s.scale.Min+i)
	}
	return m
}

func (s ratingScenario) draw(t *testing.T, src rand.Source, n int) Distribution {
	t.Helper()
	d, err := DistributionFromCounts(s.scale, drawMultinomial(src, n, s.p))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestMeanCoverage measures the t interval of a mean on skewed and
// polarised rating distributions (the hardest realistic cases: bounded,
// discrete, far from normal). Asserted: within [94%, 96%] for n ≥ 100, and
// at least 93% at n = 30, where skewness costs the t interval about a point.
func TestMeanCoverage(t *testing.T) {
	for _, s := range ratingScenarios {
		for _, n := range []int{30, 100, 400} {
			src := newSource(fmt.Sprintf("mean/%s/%d", s.name, n))
			truth := s.mean()
			hits := 0
			for range coverageTrials {
				d := s.draw(t, src, n)
				e, err := Mean(d.Summary(), Options{})
				if err != nil {
					t.Fatal(err)
				}
				if contains(e, truth) {
					hits++
				}
			}
			cov := float64(hits) / float64(coverageTrials)
			t.Logf("%-22s n=%3d  t-interval coverage of the mean %.4f", s.name, n, cov)
			if n >= 100 && (cov < 0.94 || cov > 0.96) {
				bandErrorf(t, "%s n=%d: coverage %.4f outside [94%%, 96%%]", s.name, n, cov)
			}
			if n < 100 && cov < 0.93 {
				bandErrorf(t, "%s n=%d: coverage %.4f < 93%%", s.name, n, cov)
			}
		}
	}
}

// TestNPSDifferenceCoverage measures the interval of an NPS change
// (MOVER over the score intervals, and Wald) between two independent
// samples of size n from different distributions.
func TestNPSDifferenceCoverage(t *testing.T) {
	from, to := npsScenarios[0], npsScenarios[1] // 0 → +60
	truth := 100 * ((to.pp - to.pd) - (from.pp - from.pd))
	for _, n := range []int{30, 100, 400} {
		src := newSource(fmt.Sprintf("npsdiff/%d", n))
		hits := map[Method]int{}
		for range coverageTrials {
			a, b := drawNPS(src, n, from.pp, from.pd), drawNPS(src, n, to.pp, to.pd)
			for _, m := range []Method{MethodScore, MethodWald} {
				c, err := CompareNPS(a, b, Options{NPSMethod: m})
				if err != nil {
					t.Fatal(err)
				}
				if contains(c.Difference, truth) {
					hits[m]++
				}
			}
		}
		score := float64(hits[MethodScore]) / float64(coverageTrials)
		wald := float64(hits[MethodWald]) / float64(coverageTrials)
		t.Logf("NPS 0 → +60, n=%3d each: difference coverage MOVER(score) %.4f  Wald %.4f", n, score, wald)
		if n >= 100 && (score < 0.94 || score > 0.96) {
			bandErrorf(t, "n=%d: difference coverage %.4f outside [94%%, 96%%]", n, score)
		}
		if n < 100 && score < 0.93 {
			bandErrorf(t, "n=%d: difference coverage %.4f < 93%%", n, score)
		}
	}
}

// TestChangeCalibration checks the significance tests: under the null (both
// periods drawn from the same distribution) "significant at α = 0.05" must
// come up 5% of the time (asserted within [4%, 6%] over 10,000 trials);
// under a real shift the test must find it (power, asserted ≥ 80% for
// shifts chosen to have ≈ 87–90% theoretical power).
func TestChangeCalibration(t *testing.T) {
	type sizes struct{ from, to int }
	for _, sz := range []sizes{{100, 100}, {50, 400}} {
		// NPS, 45/30/25 in both periods.
		src := newSource(fmt.Sprintf("calib/nps/%d/%d", sz.from, sz.to))
		pooledFP, unpooledFP := 0, 0
		for range coverageTrials {
			a, b := drawNPS(src, sz.from, 0.45, 0.25), drawNPS(src, sz.to, 0.45, 0.25)
			c, err := CompareNPS(a, b, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c.Significant {
				pooledFP++
			}
			// The unpooled variant, for the record: z = diff/SE.
			if se := c.Difference.SE.Or(0); se > 0 && twoSidedNormalP(c.Difference.Value.Or(0)/se) < 0.05 {
				unpooledFP++
			}
		}
		fp := float64(pooledFP) / float64(coverageTrials)
		t.Logf("NPS null, n=%d vs %d: false-positive rate pooled z %.4f (unpooled z %.4f)", sz.from, sz.to, fp, float64(unpooledFP)/float64(coverageTrials))
		if fp < 0.04 || fp > 0.06 {
			bandErrorf(t, "NPS null n=%d/%d: false-positive rate %.4f outside [4%%, 6%%]", sz.from, sz.to, fp)
		}

		// Top-2-box share 0.8 in both periods.
		src = newSource(fmt.Sprintf("calib/prop/%d/%d", sz.from, sz.to))
		fpCount := 0
		for range coverageTrials {
			xa := int(distuv.Binomial{N: float64(sz.from), P: 0.8, Src: src}.Rand())
			xb := int(distuv.Binomial{N: float64(sz.to), P: 0.8, Src: src}.Rand())
			c, err := CompareProportions(xa, sz.from, xb, sz.to, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c.Significant {
				fpCount++
			}
		}
		fp = float64(fpCount) / float64(coverageTrials)
		t.Logf("top-2-box null p=0.8, n=%d vs %d: false-positive rate %.4f", sz.from, sz.to, fp)
		if fp < 0.04 || fp > 0.06 {
			bandErrorf(t, "proportion null n=%d/%d: false-positive rate %.4f outside [4%%, 6%%]", sz.from, sz.to, fp)
		}

		// Means of a skewed 5-point distribution.
		s := ratingScenarios[0]
		src = newSource(fmt.Sprintf("calib/mean/%d/%d", sz.from, sz.to))
		fpCount = 0
		for range coverageTrials {
			c, err := CompareMeans(s.draw(t, src, sz.from).Summary(), s.draw(t, src, sz.to).Summary(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c.Significant {
				fpCount++
			}
		}
		fp = float64(fpCount) / float64(coverageTrials)
		t.Logf("mean null (%s), n=%d vs %d: Welch false-positive rate %.4f", s.name, sz.from, sz.to, fp)
		if fp < 0.04 || fp > 0.06 {
			bandErrorf(t, "mean null n=%d/%d: false-positive rate %.4f outside [4%%, 6%%]", sz.from, sz.to, fp)
		}
	}

	// Power under real shifts.
	power := func(name string, detect func(src rand.Source) bool) float64 {
		src := newSource("power/" + name)
		hits := 0
		for range powerTrials {
			if detect(src) {
				hits++
			}
		}
		p := float64(hits) / float64(powerTrials)
		t.Logf("power: %s %.4f (%d trials)", name, p, powerTrials)
		if p < 0.80 {
			bandErrorf(t, "power for %s = %.4f < 80%%", name, p)
		}
		return p
	}
	power("NPS 20 → 35 (45/30/25 → 55/25/20), n=600 each", func(src rand.Source) bool {
		c, _ := CompareNPS(drawNPS(src, 600, 0.45, 0.25), drawNPS(src, 600, 0.55, 0.20), Options{})
		return c.Significant && c.Difference.Value.Or(0) > 0
	})
	power("top-2-box 0.80 → 0.88, n=400 each", func(src rand.Source) bool {
		xa := int(distuv.Binomial{N: 400, P: 0.80, Src: src}.Rand())
		xb := int(distuv.Binomial{N: 400, P: 0.88, Src: src}.Rand())
		c, _ := CompareProportions(xa, 400, xb, 400, Options{})
		return c.Significant && c.Difference.Value.Or(0) > 0
	})
	shifted := ratingScenario{"shifted", CSATScale, []float64{0.03, 0.04, 0.10, 0.33, 0.50}}
	power("CSAT mean 4.00 → 4.23, n=400 each", func(src rand.Source) bool {
		c, _ := CompareMeans(ratingScenarios[0].draw(t, src, 400).Summary(), shifted.draw(t, src, 400).Summary(), Options{})
		return c.Significant && c.Difference.Value.Or(0) > 0
	})
}
