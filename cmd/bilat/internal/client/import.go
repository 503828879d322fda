package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"bilat.dev/cmd/bilat/internal/input"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Rejection is one item that was not recorded, placed at its file line.
type Rejection struct {
	// Line is the 1-based line of the file; 0 when the server named an
	// index the client never sent.
	Line   int              `json:"line"`
	Reason string           `json:"reason"`
	Fields []FieldViolation `json:"fieldErrors,omitempty"`
	// Local is true when the line did not parse and was never sent.
	Local bool `json:"local,omitempty"`
	// index is the server's item index, kept for unmapped rejections.
	index int64
}

// String renders "line N: reason (field: description, ...)".
func (r Rejection) String() string {
	var b strings.Builder
	if r.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", r.Line)
	} else {
		fmt.Fprintf(&b, "item %d (line unknown): ", r.index)
	}
	b.WriteString(r.Reason)
	if len(r.Fields) > 0 {
		parts := make([]string, len(r.Fields))
		for i, f := range r.Fields {
			parts[i] = f.Field + ": " + f.Description
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	return b.String()
}

// ImportResult sums up an import: the server's counts plus the lines that
// were rejected locally.
type ImportResult struct {
	Accepted   int64       `json:"accepted"`
	Duplicates int64       `json:"duplicates"`
	Rejected   int64       `json:"rejected"`
	Rejections []Rejection `json:"rejections"`
	// Agreements is how many agreement items the server did not reject
	// (accepted or duplicate); what the gateway should end up listing.
	Agreements int64 `json:"-"`
	// Lines is the number of non-blank lines read.
	Lines int64 `json:"-"`
}

// Progress is told about every line handled (sent or rejected locally).
type Progress interface {
	Add(n int) error
}

// ImportStream is the client-streaming call, as IngestServiceClient.Import returns it.
type ImportStream interface {
	Send(*bilatv1.ImportRequest) error
	CloseAndRecv() (*bilatv1.ImportResponse, error)
}

// sentItem remembers where an item sent to the server came from.
type sentItem struct {
	line      int
	agreement bool
}

// Import streams every line of r to the server as it is read. Lines that do
// not parse are rejected locally and not sent. The server's rejection
// indexes are mapped back to file lines. progress may be nil.
func Import(ctx context.Context, open func(context.Context) (ImportStream, error), r io.Reader, progress Progress) (*ImportResult, error) {
	stream, err := open(ctx)
	if err != nil {
		return nil, fmt.Errorf("start import: %w", err)
	}
	res := &ImportResult{}
	var sent []sentItem
	rd := input.NewReader(r)
	for {
		line, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w (after %d items sent)", err, len(sent))
		}
		res.Lines++
		if line.Err != nil {
			res.Rejections = append(res.Rejections, Rejection{Line: line.No, Reason: line.Err.Error(), Local: true})
		} else {
			if err := stream.Send(line.Req); err != nil {
				if errors.Is(err, io.EOF) {
					// The server ended the stream; its status is what CloseAndRecv returns.
					_, err = stream.CloseAndRecv()
				}
				return nil, fmt.Errorf("import stopped at line %d after %d items sent: %w", line.No, len(sent), err)
			}
			sent = append(sent, sentItem{line: line.No, agreement: line.Req.GetAgreement() != nil})
		}
		if progress != nil {
			_ = progress.Add(1) // a progress bar that cannot draw must not stop the import
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, fmt.Errorf("finish import after %d items sent: %w", len(sent), err)
	}
	local := int64(len(res.Rejections))
	res.Accepted = resp.GetAccepted()
	res.Duplicates = resp.GetDuplicates()
	res.Rejected = resp.GetRejected() + local
	server := MapRejections(sent, resp.GetRejections())
	res.Rejections = append(res.Rejections, server...)
	slices.SortStableFunc(res.Rejections, func(a, b Rejection) int { return cmp.Compare(a.Line, b.Line) })

	rejectedAgreements := int64(0)
	for _, rj := range resp.GetRejections() {
		if i := rj.GetIndex(); i >= 0 && i < int64(len(sent)) && sent[i].agreement {
			rejectedAgreements++
		}
	}
	for _, s := range sent {
		if s.agreement {
			res.Agreements++
		}
	}
	res.Agreements -= rejectedAgreements
	return res, nil
}

// MapRejections turns the server's item indexes into file line numbers.
// sent[i] is the line of the i-th item sent (blank and locally rejected
// lines were never sent, so indexes and lines differ).
func MapRejections(sent []sentItem, rejs []*bilatv1.Rejection) []Rejection {
	out := make([]Rejection, 0, len(rejs))
	for _, rj := range rejs {
		r := Rejection{Reason: rj.GetReason(), index: rj.GetIndex()}
		if i := rj.GetIndex(); i >= 0 && i < int64(len(sent)) {
			r.Line = sent[i].line
		}
		parts := make([]string, 0, len(rj.GetFieldErrors()))
		for _, fe := range rj.GetFieldErrors() {
			r.Fields = append(r.Fields, FieldViolation{Field: fe.GetField(), Description: fe.GetDescription()})
			parts = append(parts, fe.GetField()+": "+fe.GetDescription())
		}
		// A reason that already spells out the field errors ("invalid
		// agreement: f: d; g: e", the grpcx.InvalidArgument style) would
		// repeat them; keep its head only.
		if len(parts) > 0 {
			r.Reason = strings.TrimSuffix(r.Reason, ": "+strings.Join(parts, "; "))
		}
		out = append(out, r)
	}
	return out
}
