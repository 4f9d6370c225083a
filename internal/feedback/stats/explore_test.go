package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

func exactNPSCoverage(n int, pp, pd float64, m Method) float64 {
	truth := 100 * (pp - pd)
	lf := func(k int) float64 { v, _ := math.Lgamma(float64(k) + 1); return v }
	cov := 0.0
	for a := 0; a <= n; a++ {
		for b := 0; a+b <= n; b++ {
			c := NPSCounts{Promoters: a, Detractors: b, Passives: n - a - b}
			lp := lf(n) - lf(a) - lf(b) - lf(n-a-b) + float64(a)*math.Log(pp) + float64(b)*math.Log(pd) + float64(n-a-b)*math.Log(1-pp-pd)
			p := math.Exp(lp)
			if p < 1e-15 {
				continue
			}
			r, _ := NPS(c, Options{NPSMethod: m})
			if r.NPS.Low.Or(0) <= truth && truth <= r.NPS.High.Or(0) {
				cov += p
			}
		}
	}
	return cov
}

func TestExploreExact(t *testing.T) {
	for _, s := range npsScenarios {
		for _, n := range []int{30, 100, 400} {
			t.Logf("%-20s n=%3d wald %.4f adj %.4f score %.4f", s.name, n, exactNPSCoverage(n, s.pp, s.pd, MethodWald), exactNPSCoverage(n, s.pp, s.pd, MethodAdjustedWald), exactNPSCoverage(n, s.pp, s.pd, MethodScore))
		}
	}
}

func TestExploreSampler(t *testing.T) {
	for seed := range 3 {
		src := newSource("x" + string(rune('a'+seed)))
		hits, hitsCat := 0, 0
		r := rand.New(newSource("y" + string(rune('a'+seed))))
		var sumA, sumA2 float64
		for range 20000 {
			c := drawTrinomial(src, 100, 0.15, 0.55)
			sumA += float64(c.Detractors)
			sumA2 += float64(c.Detractors * c.Detractors)
			res, _ := NPS(c, Options{})
			if res.NPS.Low.Or(0) <= -40 && -40 <= res.NPS.High.Or(0) {
				hits++
			}
			k := drawCategorical(r, 100, []float64{0.15, 0.30, 0.55})
			res, _ = NPS(NPSCounts{k[0], k[1], k[2]}, Options{})
			if res.NPS.Low.Or(0) <= -40 && -40 <= res.NPS.High.Or(0) {
				hitsCat++
			}
		}
		m := sumA / 20000
		t.Logf("binomial sampler %.4f categorical %.4f; detractor mean %.3f var %.3f (want 55, 24.75)", float64(hits)/20000, float64(hitsCat)/20000, m, sumA2/20000-m*m)
	}
}

func TestExploreSeeds(t *testing.T) {
	s := npsScenarios[2]
	var covs []float64
	for i := range 20 {
		src := newSource(fmt.Sprintf("seed%d", i))
		if i == 0 {
			src = newSource(fmt.Sprintf("nps/%s/%d", s.name, 100))
		}
		hits := 0
		for range 10000 {
			c := drawTrinomial(src, 100, s.pp, s.pd)
			res, _ := NPS(c, Options{})
			if res.NPS.Low.Or(0) <= -40 && -40 <= res.NPS.High.Or(0) {
				hits++
			}
		}
		covs = append(covs, float64(hits)/10000)
	}
	t.Log(covs)
}

func TestExploreBinomial(t *testing.T) {
	for _, p := range []float64{0.15, 0.55 / 0.85, 0.3} {
		n := 100
		src := newSource(fmt.Sprint("bin", p))
		counts := make([]float64, n+1)
		const draws = 2000000
		for range draws {
			counts[int(distuv.Binomial{N: float64(n), P: p, Src: src}.Rand())]++
		}
		bin := distuv.Binomial{N: float64(n), P: p}
		chi, df := 0.0, 0
		for k := range counts {
			e := bin.Prob(float64(k)) * draws
			if e < 5 {
				continue
			}
			chi += (counts[k] - e) * (counts[k] - e) / e
			df++
		}
		t.Logf("p=%.3f chi2=%.1f df=%d p-value=%.4g", p, chi, df-1, 1-distuv.ChiSquared{K: float64(df - 1)}.CDF(chi))
	}
}

func TestExploreGrid(t *testing.T) {
	for _, n := range []int{30, 100} {
		for _, m := range []Method{MethodWald, MethodAdjustedWald, MethodScore} {
			minC, sum, cnt, below := 1.0, 0.0, 0, 0
			var worst [2]float64
			for pp := 0.05; pp < 0.96; pp += 0.1 {
				for pd := 0.05; pp+pd < 0.999; pd += 0.1 {
					c := exactNPSCoverage(n, pp, pd, m)
					sum += c
					cnt++
					if c < 0.94 {
						below++
					}
					if c < minC {
						minC, worst = c, [2]float64{pp, pd}
					}
				}
			}
			t.Logf("n=%d %-14s mean %.4f min %.4f at %v; %d/%d below .94", n, m, sum/float64(cnt), minC, worst, below, cnt)
		}
	}
	for _, s := range [][2]float64{{0.92, 0.02}, {0.02, 0.92}, {0.97, 0.01}} {
		for _, n := range []int{30, 100} {
			t.Logf("extreme %v n=%d wald %.4f adj %.4f score %.4f", s, n, exactNPSCoverage(n, s[0], s[1], MethodWald), exactNPSCoverage(n, s[0], s[1], MethodAdjustedWald), exactNPSCoverage(n, s[0], s[1], MethodScore))
		}
	}
}
