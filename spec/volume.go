package spec

// VolumeName is the name on the machine of the volume a stack declares
// under key: its name field, else "<stack>_<key>" as compose names a
// project's volumes; an external volume without a name is named key.
func (s *Stack) VolumeName(key string) string {
	v := s.Volumes[key]
	switch {
	case v.Name != "":
		return v.Name
	case v.External:
		return key
	}
	return s.Name + "_" + key
}
