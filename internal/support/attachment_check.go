package support

// CheckAttachment applies the desk's attachment rules (name, allowed type,
// size) to one file, so a channel such as mail can drop the files the desk
// would refuse and keep the rest. It returns the file as it would be stored
// (base name, bare media type). Errors: EINVALID, ETOOLARGE.
func CheckAttachment(a NewAttachment) (NewAttachment, error) {
	out, err := checkAttachments([]NewAttachment{a})
	if err != nil {
		return NewAttachment{}, err
	}
	return out[0], nil
}
