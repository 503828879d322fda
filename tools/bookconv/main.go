// Command bookconv converts the book's data (../shared/data/book) into the
// project's data files: the gazetteer, agreements and trade figures as
// protojson bilat.v1 messages, plus raw copies and a README that lists what
// was not loaded and why. It is deterministic: re-running it on the same
// book rewrites the same bytes.
//
//	go run ./tools/bookconv -in ../shared/data/book -out data
//
// The gazetteer merges the book's entities with the world data kept under
// data/gazetteer/sources (an iso-codes snapshot and hand-kept tables);
// --refresh-iso-codes first rebuilds the snapshot from an installed iso-codes.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

func main() {
	fs := flag.NewFlagSet("bookconv", flag.ContinueOnError)
	in := fs.String("in", "../shared/data/book", "directory of the book's raw data")
	out := fs.String("out", "data", "output directory (the repository's data/)")
	sources := fs.String("sources", "", "gazetteer sources (iso-codes snapshot, hand-kept tables); default <out>/gazetteer/sources")
	refresh := fs.Bool("refresh-iso-codes", false, "rebuild the iso-codes snapshot from an installed iso-codes package first")
	isoRoot := fs.String("iso-codes-root", "/usr/share", "where iso-codes is installed (for --refresh-iso-codes)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *sources == "" {
		*sources = filepath.Join(*out, "gazetteer", "sources")
	}
	if *refresh {
		if err := refreshISOSnapshot(*isoRoot, filepath.Join(*sources, "iso-codes")); err != nil {
			slog.Error("refresh iso-codes snapshot failed", "err", err)
			os.Exit(1)
		}
	}
	sum, err := convert(*in, *sources, *out)
	if err != nil {
		slog.Error("bookconv failed", "err", err)
		os.Exit(1)
	}
	fmt.Printf("gazetteer: %d countries, %d regions, %d cities, %d blocs, %d organisations, %d aliases (%d shared, all allow-listed)\n",
		sum.Kinds[kindCountry], sum.Kinds[kindRegion], sum.Kinds[kindCity], sum.Kinds[kindBloc], sum.Kinds[kindOrg], sum.Aliases, len(sum.Ambiguous))
	fmt.Printf("bookconv: %d entities, %d agreements, %d trade figures loaded, %d trade rows not loaded, %d other figures -> %s\n",
		sum.Entities, sum.Agreements, sum.Trade, len(sum.Skipped), sum.OtherFigures, *out)
}
