//! Regions to partitions: the one place tenantctl, the authorizer and this library learn a
//! region's partition (ARNs: `arn:<partition>:...`) and DNS suffix (endpoints and Cognito
//! issuers: `cognito-idp.<region>.<dns_suffix>`). Dependency-free so that the authorizer
//! crate can include this file as a module (`#[path]`) without pulling in the SDK.
//!
//! Source: the partitions of the AWS SDKs' endpoint rules (`partitions.json`): `aws`
//! (amazonaws.com), `aws-cn` (`cn-*`, amazonaws.com.cn), `aws-us-gov` (`us-gov-*`,
//! amazonaws.com), `aws-iso` (`us-iso-*`, c2s.ic.gov), `aws-iso-b` (`us-isob-*`, sc2s.sgov.gov),
//! `aws-iso-e` (`eu-isoe-*`, cloud.adc-e.uk), `aws-iso-f` (`us-isof-*`, csp.hci.ic.gov),
//! `aws-eusc` (`eusc-*`, amazonaws.eu).

/// A partition: its ARN name and the DNS suffix of its endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub name: &'static str,
    pub dns_suffix: &'static str,
}

const AWS: Partition = Partition { name: "aws", dns_suffix: "amazonaws.com" };

/// The partition a region belongs to (the commercial `aws` partition when no prefix matches).
pub fn partition_for_region(region: &str) -> Partition {
    const TABLE: &[(&str, Partition)] = &[
        ("cn-", Partition { name: "aws-cn", dns_suffix: "amazonaws.com.cn" }),
        ("us-gov-", Partition { name: "aws-us-gov", dns_suffix: "amazonaws.com" }),
        ("us-isob-", Partition { name: "aws-iso-b", dns_suffix: "sc2s.sgov.gov" }),
        ("us-isof-", Partition { name: "aws-iso-f", dns_suffix: "csp.hci.ic.gov" }),
        ("us-iso-", Partition { name: "aws-iso", dns_suffix: "c2s.ic.gov" }),
        ("eu-isoe-", Partition { name: "aws-iso-e", dns_suffix: "cloud.adc-e.uk" }),
        ("eusc-", Partition { name: "aws-eusc", dns_suffix: "amazonaws.eu" }),
    ];
    TABLE.iter().find(|(prefix, _)| region.starts_with(prefix)).map_or(AWS, |(_, p)| *p)
}

/// The Cognito issuer of a user pool: `https://cognito-idp.<region>.<dns_suffix>/<pool_id>`.
pub fn cognito_issuer(region: &str, pool_id: &str) -> String {
    format!("https://cognito-idp.{region}.{}/{pool_id}", partition_for_region(region).dns_suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commercial_china_and_govcloud() {
        assert_eq!(partition_for_region("us-east-1"), Partition { name: "aws", dns_suffix: "amazonaws.com" });
        assert_eq!(partition_for_region("eu-west-3").name, "aws");
        assert_eq!(partition_for_region("cn-north-1"), Partition { name: "aws-cn", dns_suffix: "amazonaws.com.cn" });
        assert_eq!(partition_for_region("cn-northwest-1").name, "aws-cn");
        assert_eq!(
            partition_for_region("us-gov-west-1"),
            Partition { name: "aws-us-gov", dns_suffix: "amazonaws.com" }
        );
        assert_eq!(partition_for_region("us-iso-east-1").name, "aws-iso");
        assert_eq!(partition_for_region("us-isob-east-1").name, "aws-iso-b");
    }

    #[test]
    fn issuers_use_the_partition_dns_suffix() {
        assert_eq!(
            cognito_issuer("cn-north-1", "cn-north-1_abc"),
            "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_abc"
        );
        assert_eq!(
            cognito_issuer("us-east-1", "us-east-1_abc"),
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc"
        );
    }
}
