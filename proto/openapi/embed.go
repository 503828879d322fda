// Package openapi holds the OpenAPI (Swagger 2.0) description of Bilat's
// HTTP/JSON API, generated from the protos and proto/bilat/v1/http.yaml by
// `make proto`.
package openapi

import _ "embed"

// Swagger is bilat.swagger.json: every HTTP route of AgreementService,
// TradeService and PartnerService with its parameters and JSON shapes.
//
//go:embed bilat.swagger.json
var Swagger []byte
