package roster

import "strings"

// A sourcedId may contain '@' (the OneRoster pattern allows it), so an email address in the
// wrong column passes as a sourcedId. Messages, findings and logs therefore never repeat a
// sourcedId that contains '@'. These two functions are the one place that rule lives.

// EmailLikePlaceholder stands in a message for a sourcedId that looks like an email address.
const EmailLikePlaceholder = "[a value that looks like an email address]"

// MessageID returns id as a message may show it: the id itself, or EmailLikePlaceholder.
func MessageID(id string) string {
	if strings.IndexByte(id, '@') >= 0 {
		return EmailLikePlaceholder
	}
	return id
}

// FindingID returns id as a finding's sourcedId field may carry it: the id itself, or ""
// when it looks like an email address.
func FindingID(id string) string {
	if strings.IndexByte(id, '@') >= 0 {
		return ""
	}
	return id
}
