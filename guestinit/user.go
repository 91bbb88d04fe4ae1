package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// user is a resolved process identity.
type user struct {
	uid, gid uint32
	groups   []uint32
	home     string
}

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// resolveUser resolves Docker's --user forms: "", "uid", "uid:gid",
// "name", "name:group" (and mixes), against the box's passwd and group
// files. A numeric uid needs no passwd entry; a name does.
func resolveUser(spec, passwdPath, groupPath string) (*user, error) {
	passwd, _ := readPasswd(passwdPath)
	groups, _ := readGroups(groupPath)
	if spec == "" {
		spec = "0"
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	u := &user{home: "/"}
	var pw *passwdEntry
	if id, err := parseID(userPart); err == nil {
		u.uid = id
		for i := range passwd {
			if passwd[i].uid == id {
				pw = &passwd[i]
				break
			}
		}
	} else {
		for i := range passwd {
			if passwd[i].name == userPart {
				pw = &passwd[i]
				break
			}
		}
		if pw == nil {
			return nil, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userPart)
		}
		u.uid = pw.uid
	}
	if pw != nil {
		u.gid, u.home = pw.gid, pw.home
	}
	if hasGroup {
		if id, err := parseID(groupPart); err == nil {
			u.gid = id
		} else {
			found := false
			for _, g := range groups {
				if g.name == groupPart {
					u.gid, found = g.gid, true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("unable to find group %s: no matching entries in group file", groupPart)
			}
		}
	}
	// Supplementary groups come from group membership, as with Docker,
	// unless the user named the group explicitly.
	if pw != nil && !hasGroup {
		for _, g := range groups {
			for _, m := range g.members {
				if m == pw.name && g.gid != u.gid {
					u.groups = append(u.groups, g.gid)
				}
			}
		}
	}
	return u, nil
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

func readPasswd(path string) ([]passwdEntry, error) {
	var out []passwdEntry
	err := readColonFile(path, func(f []string) {
		if len(f) < 6 {
			return
		}
		uid, err1 := parseID(f[2])
		gid, err2 := parseID(f[3])
		if err1 != nil || err2 != nil {
			return
		}
		out = append(out, passwdEntry{name: f[0], uid: uid, gid: gid, home: f[5]})
	})
	return out, err
}

func readGroups(path string) ([]groupEntry, error) {
	var out []groupEntry
	err := readColonFile(path, func(f []string) {
		if len(f) < 3 {
			return
		}
		gid, err := parseID(f[2])
		if err != nil {
			return
		}
		g := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 && f[3] != "" {
			g.members = strings.Split(f[3], ",")
		}
		out = append(out, g)
	})
	return out, err
}

func readColonFile(path string, each func([]string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return scanColonLines(f, each)
}

func scanColonLines(r io.Reader, each func([]string)) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		each(strings.Split(line, ":"))
	}
	return sc.Err()
}
