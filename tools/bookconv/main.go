// Command bookconv converts the book's data (../shared/data/book) into the
// project's data files: the gazetteer, agreements and trade figures as
// protojson bilat.v1 messages, plus raw copies and a README that lists what
// was not loaded and why. It is deterministic: re-running it on the same
// book rewrites the same bytes.
//
//	go run ./tools/bookconv -in ../shared/data/book -out data
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
)

func main() {
	fs := flag.NewFlagSet("bookconv", flag.ContinueOnError)
	in := fs.String("in", "../shared/data/book", "directory of the book's raw data")
	out := fs.String("out", "data", "output directory (the repository's data/)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	sum, err := convert(*in, *out)
	if err != nil {
		slog.Error("bookconv failed", "err", err)
		os.Exit(1)
	}
	fmt.Printf("bookconv: %d entities, %d agreements, %d trade figures loaded, %d trade rows not loaded, %d other figures -> %s\n",
		sum.Entities, sum.Agreements, sum.Trade, len(sum.Skipped), sum.OtherFigures, *out)
}
