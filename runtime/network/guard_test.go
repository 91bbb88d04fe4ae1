package network

import (
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestRenderGuard(t *testing.T) {
	root := "/r"
	table := GuardTable(root)
	head := "table bridge " + table + "\ndelete table bridge " + table + "\ntable bridge " + table + " {\n" +
		"\tchain guard {\n\t\ttype filter hook prerouting priority -200; policy accept;\n"
	tapA, tapB1 := TapName(root, "boxa", 0), TapName(root, "boxb", 1)
	macA, macB := SlotMAC("boxa", 0), SlotMAC("boxb", 1)
	chain := func(tap, mac, ip string) string {
		return "\tchain " + tap + " {\n" +
			"\t\tether saddr != " + mac + " drop\n" +
			"\t\tether type arp arp htype != 1 drop\n" +
			"\t\tether type arp arp ptype != ip drop\n" +
			"\t\tether type arp arp hlen != 6 drop\n" +
			"\t\tether type arp arp plen != 4 drop\n" +
			"\t\tether type arp arp saddr ether != " + mac + " drop\n" +
			"\t\tether type arp arp saddr ip != " + ip + " drop\n" +
			"\t\tether type ip ip saddr != " + ip + " drop\n" +
			"\t\tether type != { ip, arp } drop\n\t}\n"
	}
	ep := func(box string, slot int, ip string) *Endpoint {
		return &Endpoint{BoxID: box, Slot: slot, MAC: SlotMAC(box, slot), IP: netip.MustParseAddr(ip)}
	}
	first, second := tapA, tapB1
	chains := chain(tapA, macA, "10.89.1.2") + chain(tapB1, macB, "10.89.2.7")
	if tapB1 < tapA {
		first, second = tapB1, tapA
		chains = chain(tapB1, macB, "10.89.2.7") + chain(tapA, macA, "10.89.1.2")
	}
	for _, tc := range []struct {
		name string
		nets []*Network
		want string
	}{
		{"no network", nil, head + "\t}\n}\n"},
		{"networks without endpoints", []*Network{{Bridge: "a3sb1"}}, head + "\t}\n}\n"},
		{
			"one endpoint per box, each tap its own chain",
			[]*Network{
				{Bridge: "a3sb1", Endpoints: map[string]*Endpoint{"boxa": ep("boxa", 0, "10.89.1.2")}},
				{Bridge: "a3sb2", Endpoints: map[string]*Endpoint{"boxb": ep("boxb", 1, "10.89.2.7")}},
			},
			head + "\t\tiifname vmap { \"" + first + "\" : jump " + first + ", \"" + second + "\" : jump " + second + " }\n\t}\n" +
				chains + "}\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := renderGuard(root, tc.nets)
			if got != tc.want {
				t.Fatalf("guard:\n%s\nwant:\n%s", got, tc.want)
			}
			checkNft(t, got)
		})
	}
	if GuardTable(root) == GuardTable("/other") {
		t.Fatal("guard table is not per root")
	}
}

// checkNft has nft parse script without applying it (nft -c), where nft
// and the privilege to ask the kernel are there.
func checkNft(t *testing.T, script string) {
	t.Helper()
	if _, err := exec.LookPath(nftBin()); err != nil || os.Geteuid() != 0 {
		return
	}
	cmd := exec.Command(nftBin(), "-c", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft -c: %v: %s\n%s", err, out, script)
	}
}

func TestParseOptions(t *testing.T) {
	for _, tc := range []struct {
		opts    map[string]string
		want    bool
		wantErr string
	}{
		{nil, false, ""},
		{map[string]string{HostAccessOption: "true"}, true, ""},
		{map[string]string{HostAccessOption: "1"}, true, ""},
		{map[string]string{HostAccessOption: "false"}, false, ""},
		{map[string]string{HostAccessOption: "yes"}, false, "want true or false"},
		{map[string]string{"com.docker.network.bridge.enable_icc": "false"}, false, "not supported"},
	} {
		got, err := parseOptions(tc.opts)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseOptions(%v) = %v, %v; want an error with %q", tc.opts, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseOptions(%v) = %v, %v; want %v", tc.opts, got, err, tc.want)
		}
	}
}
