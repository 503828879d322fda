package grpcx

import (
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FieldViolation names one bad field of a request.
type FieldViolation struct {
	Field       string
	Description string
}

// InvalidArgument builds an InvalidArgument status carrying a BadRequest
// detail with one violation per bad field; the message lists them too, so
// clients that ignore details still see which fields are wrong.
func InvalidArgument(msg string, violations ...FieldViolation) error {
	br := &errdetails.BadRequest{}
	parts := make([]string, 0, len(violations))
	for _, v := range violations {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
		parts = append(parts, v.Field+": "+v.Description)
	}
	text := msg
	if len(parts) > 0 {
		text = fmt.Sprintf("%s: %s", msg, strings.Join(parts, "; "))
	}
	st, err := status.New(codes.InvalidArgument, text).WithDetails(br)
	if err != nil {
		return status.Error(codes.InvalidArgument, text)
	}
	return st.Err()
}

// FieldViolations extracts the BadRequest violations of an error.
func FieldViolations(err error) []FieldViolation {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	var out []FieldViolation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		}
	}
	return out
}
