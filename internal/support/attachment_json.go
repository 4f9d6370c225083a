package support

import (
	"bytes"
	"encoding/json"
	"errors"
)

// UnmarshalJSON reads a file sent in JSON: {filename, content_type,
// data_base64} (or data, the older name of the same base64 field). Unknown
// fields are refused, as everywhere in the API.
func (a *NewAttachment) UnmarshalJSON(b []byte) error {
	var in struct {
		Filename    string `json:"filename"`
		ContentType string `json:"content_type"`
		DataBase64  []byte `json:"data_base64"`
		Data        []byte `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return err
	}
	if in.DataBase64 != nil && in.Data != nil {
		return errors.New("an attachment has data_base64 or data, not both")
	}
	data := in.DataBase64
	if data == nil {
		data = in.Data
	}
	*a = NewAttachment{Filename: in.Filename, ContentType: in.ContentType, Data: data}
	return nil
}
