//! Which callback targets kassa may call: HTTPS to public addresses only, checked again after
//! DNS resolution (and at connect time, against DNS rebinding). Sandbox mode, or an explicit
//! allow-list, opens plain HTTP and private addresses for the hosts it names.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use url::Url;

/// How long a target's name may take to resolve.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Any scheme of http/https and any address (sandbox mode).
    pub allow_all: bool,
    /// Hosts (names or IP literals) that may use plain HTTP and private addresses.
    pub allowed_hosts: Vec<String>,
}

impl TargetPolicy {
    pub fn sandbox() -> Self {
        Self { allow_all: true, allowed_hosts: Vec::new() }
    }

    fn allows_host(&self, host: &str) -> bool {
        self.allow_all || self.allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host.trim_matches(['[', ']'])))
    }

    /// The URL alone: absolute, http(s), HTTPS unless the host is allowed.
    pub fn check_url(&self, url: &str) -> Result<Url, String> {
        let parsed = Url::parse(url).map_err(|_| "must be an absolute URL".to_owned())?;
        let host = parsed.host_str().ok_or("must name a host")?.to_owned();
        match parsed.scheme() {
            "https" => {}
            "http" if self.allows_host(&host) => {}
            "http" => return Err("must use https".into()),
            _ => return Err("must be an https URL".into()),
        }
        Ok(parsed)
    }

    /// The URL and where it leads: every address its host resolves to must be public, unless the
    /// host is allowed.
    pub async fn check_resolved(&self, url: &str) -> Result<Url, String> {
        let parsed = self.check_url(url)?;
        let host = parsed.host_str().unwrap_or_default().to_owned();
        if self.allows_host(&host) {
            return Ok(parsed);
        }
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addresses: Vec<SocketAddr> = match host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host.as_str(), port)))
                .await
                .map_err(|_| format!("host {host} did not resolve within {} s", LOOKUP_TIMEOUT.as_secs()))?
                .map_err(|e| format!("host {host} does not resolve: {e}"))?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(format!("host {host} does not resolve"));
        }
        match addresses.iter().find(|a| !is_public(a.ip())) {
            Some(private) => Err(format!("resolves to {}, which is not a public address", private.ip())),
            None => Ok(parsed),
        }
    }

    /// A resolver for the outbound client that drops non-public addresses of hosts that are not
    /// allowed, so a name that changes its answer after the check still cannot reach them.
    pub fn resolver(&self) -> Arc<GuardedResolver> {
        Arc::new(GuardedResolver { policy: self.clone() })
    }
}

/// Loopback, private, link-local (cloud metadata lives there), shared, documentation,
/// multicast, unspecified and broadcast addresses are not public.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
                || (a == 192 && b == 0) // IETF protocol assignments
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let embedded =
                |high: u16, low: u16| IpAddr::V4(std::net::Ipv4Addr::from((u32::from(high) << 16) | u32::from(low)));
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            // IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach an IPv4
            // address: judge that one.
            if segments[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified() {
                return is_public(embedded(segments[6], segments[7]));
            }
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_public(embedded(segments[6], segments[7]));
            }
            if segments[0] == 0x2002 {
                return is_public(embedded(segments[1], segments[2]));
            }
            let first = segments[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || first == 0x2001 && segments[1] == 0x0db8) // documentation
        }
    }
}

#[derive(Debug)]
pub struct GuardedResolver {
    policy: TargetPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let open = self.policy.allows_host(&host);
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let kept: Vec<SocketAddr> = found.filter(|a| open || is_public(a.ip())).collect();
            if kept.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_not() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::101:101", "2002:0101:0101::"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn strict_policy_refuses_http_and_private_targets() {
        let strict = TargetPolicy::default();
        assert_eq!(strict.check_url("http://example.com/cb").unwrap_err(), "must use https");
        assert!(strict.check_url("ftp://example.com/cb").is_err());
        assert!(strict.check_resolved("https://127.0.0.1/cb").await.unwrap_err().contains("not a public address"));
        assert!(strict.check_resolved("https://[::1]:8443/cb").await.is_err());
        assert!(strict.check_resolved("https://localhost/cb").await.is_err());
        assert!(strict.check_resolved("https://169.254.169.254/latest/meta-data").await.is_err());
        let listed = TargetPolicy { allow_all: false, allowed_hosts: vec!["127.0.0.1".into()] };
        assert!(listed.check_resolved("http://127.0.0.1:9000/cb").await.is_ok());
        assert!(listed.check_resolved("http://10.0.0.1/cb").await.is_err());
        assert!(TargetPolicy::sandbox().check_resolved("http://localhost:1/cb").await.is_ok());
    }
}
