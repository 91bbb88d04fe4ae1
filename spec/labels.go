package spec

import "strings"

// InternalLabelPrefix starts the labels a3s-box sets on boxes for itself
// (a box's stack, its name there, its config hash): they stay in the box's
// record and its label filters, and out of what Docker's verbs show.
const InternalLabelPrefix = "a3s-box."

// UserLabels is labels without a3s-box's own, as ps, inspect and events
// show a box's labels; labels itself when it has none of them.
func UserLabels(labels map[string]string) map[string]string {
	internal := false
	for k := range labels {
		if strings.HasPrefix(k, InternalLabelPrefix) {
			internal = true
			break
		}
	}
	if !internal {
		return labels
	}
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if !strings.HasPrefix(k, InternalLabelPrefix) {
			out[k] = v
		}
	}
	return out
}
