package spec

import (
	"context"
	"strings"
	"testing"
)

func TestNetworkAddressing(t *testing.T) {
	stackFile := `name: shop
boxes:
  web:
    image: busybox
    networks:
      back:
        aliases: [www]
        ipv4_address: 10.1.2.5
networks:
  back:
    driver: bridge
    internal: true
    ipam:
      config:
        - subnet: 10.1.2.0/24
          gateway: 10.1.2.254
  ext:
    external: true
`
	// The same as a compose file: services for boxes.
	compose := strings.Replace(stackFile, "boxes:", "services:", 1)
	for name, data := range map[string]string{"stack.yaml": stackFile, "compose.yaml": compose} {
		stacks, _, err := LoadData(context.Background(), name, []byte(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := stacks[0]
		n := s.Networks["back"]
		if n.Subnet != "10.1.2.0/24" || n.Gateway != "10.1.2.254" || !n.Internal || n.Driver != "bridge" {
			t.Errorf("%s: network %+v", name, n)
		}
		a := s.Boxes["web"].Networks
		if len(a) != 1 || a[0].IPv4Address != "10.1.2.5" || len(a[0].Aliases) != 1 {
			t.Errorf("%s: attachments %+v", name, a)
		}
		for key, want := range map[string]string{"back": "shop_back", "ext": "ext", "default": "shop_default"} {
			if got := s.NetworkName(key); got != want {
				t.Errorf("%s: NetworkName(%s) = %s, want %s", name, key, got, want)
			}
		}
	}
}
