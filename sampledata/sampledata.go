// Package sampledata ships the demo's data inside the binary, so
// `kizuna demo` works from a fresh clone or a bare binary with nothing
// next to it. The files, their origin and their licences are described in
// README.md here and in docs/DATA.md.
package sampledata

import (
	"embed"
	"io/fs"
)

// Names of the embedded files.
const (
	// OnlineRetail is the UCI Online Retail data set (CC BY 4.0): 541,909
	// invoice lines of a UK gift retailer, gzip-compressed CSV.
	OnlineRetail = "online_retail.csv.gz"
	// Customers is a small set of fictional Japanese and English customer
	// profiles written for the demo, linked to Online Retail customers by
	// customer_id.
	Customers = "customers.csv"
	// WomensClothingReviews is the Women's E-Commerce Clothing Reviews
	// data set (CC0): 23,486 anonymised reviews with a 1–5 rating, a
	// "would recommend" flag and the review text, gzip-compressed CSV.
	// internal/feedback/reviews loads it as survey responses.
	WomensClothingReviews = "womens_clothing_reviews.csv.gz"
)

//go:embed online_retail.csv.gz customers.csv womens_clothing_reviews.csv.gz
var files embed.FS

// FS returns the embedded sample files.
func FS() fs.FS { return files }

// Open opens one embedded sample file by name.
func Open(name string) (fs.File, error) { return files.Open(name) }
