//! Quantities with units: bandwidth (`1.5Mbps`), delay (`100us`), loss
//! (`0.5%`), time (`30s`, `2min`) and size (`10MB`, `4MiB`).
//!
//! Decimals are parsed exactly (no binary floating point on the way), so
//! `1.1Mbps` is 1,100,000 bps and not 1,099,999.

/// Highest bandwidth accepted: 1 Tbps.
pub const BANDWIDTH_BPS_MAX: u64 = 1_000_000_000_000;
/// Longest one-way delay accepted: 60 s.
pub const DELAY_NS_MAX: u64 = 60_000_000_000;

/// Latest time (start, duration, event) accepted: one day.
pub const TIME_NS_MAX: u64 = 86_400_000_000_000;
/// Largest size accepted: 1000GB.
pub const SIZE_BYTES_MAX: u64 = 1_000_000_000_000;

const BANDWIDTH_UNITS: [(&str, u64); 4] = [
    ("Gbps", 1_000_000_000),
    ("Mbps", 1_000_000),
    ("Kbps", 1_000),
    ("bps", 1),
];
const DELAY_UNITS: [(&str, u64); 5] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
];

const TIME_UNITS: [(&str, u64); 7] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
];
const SIZE_UNITS: [(&str, u64); 7] = [
    ("B", 1),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
];

/// `100Mbps`, `1.5Gbps`, `64 Kbps` → bits per second (at least 1).
pub fn parse_bandwidth(text: &str) -> Result<u64, String> {
    let value = parse_with_units(
        text,
        &BANDWIDTH_UNITS,
        "bandwidth",
        "bps, Kbps, Mbps or Gbps (e.g. `100Mbps`)",
    )?;
    if value == 0 {
        return Err(format!("bandwidth `{text}` must be more than 0"));
    }
    if value > BANDWIDTH_BPS_MAX {
        return Err(format!(
            "bandwidth `{text}` is more than the limit of 1000Gbps"
        ));
    }
    Ok(value)
}

/// `100us`, `1.5ms`, `0s` → nanoseconds.
pub fn parse_delay(text: &str) -> Result<u64, String> {
    let value = parse_with_units(text, &DELAY_UNITS, "delay", "ns, us, ms or s (e.g. `10ms`)")?;
    if value > DELAY_NS_MAX {
        return Err(format!("delay `{text}` is more than the limit of 60s"));
    }
    Ok(value)
}

/// A time from the start of the run or a duration: `0s`, `1.5s`, `250ms`,
/// `2min`, `1h` → nanoseconds, at most one day.
pub fn parse_time(text: &str) -> Result<u64, String> {
    if text.trim_start().starts_with('-') {
        return Err(format!(
            "time `{text}` is negative: times count from the start of the run"
        ));
    }
    let value = parse_with_units(
        text,
        &TIME_UNITS,
        "time",
        "ns, us, ms, s, min or h (e.g. `5s`)",
    )?;
    if value > TIME_NS_MAX {
        return Err(format!("time `{text}` is more than the limit of one day"));
    }
    Ok(value)
}

/// `10MB`, `300B`, `4MiB`, `1.5KB` → bytes (KB, MB, GB are powers of 1000;
/// KiB, MiB, GiB of 1024), at most 1000GB.
pub fn parse_size(text: &str) -> Result<u64, String> {
    if text.trim_start().starts_with('-') {
        return Err(format!("size `{text}` is negative"));
    }
    let value = parse_with_units(
        text,
        &SIZE_UNITS,
        "size",
        "B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024), e.g. `10MB`",
    )?;
    if value > SIZE_BYTES_MAX {
        return Err(format!("size `{text}` is more than the limit of 1000GB"));
    }
    Ok(value)
}

/// `0.5%` or a bare `0.5` (a percentage) → probability 0.0 ..= 1.0.
pub fn parse_loss(text: &str) -> Result<f64, String> {
    let number = text
        .trim()
        .strip_suffix('%')
        .unwrap_or(text.trim())
        .trim_end();
    let Some((mantissa, scale)) = parse_decimal(number) else {
        return Err(format!("loss `{text}` must be a percentage like `0.5%`"));
    };
    let percent = mantissa as f64 / 10f64.powi(scale as i32);
    if percent > 100.0 {
        return Err(format!("loss `{text}` is more than 100%"));
    }
    Ok(percent / 100.0)
}

fn parse_with_units(
    text: &str,
    units: &[(&str, u64)],
    what: &str,
    unit_list: &str,
) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = (&trimmed[..split], trimmed[split..].trim_start());
    let Some((mantissa, scale)) = parse_decimal(number) else {
        return Err(format!(
            "{what} `{text}` must be a number followed by a unit: {unit_list}"
        ));
    };
    if unit.is_empty() {
        return Err(format!("{what} `{text}` has no unit: use {unit_list}"));
    }
    let Some(&(_, multiplier)) = units.iter().find(|(name, _)| *name == unit) else {
        return Err(format!(
            "{what} `{text}` has an unknown unit `{unit}`: use {unit_list}"
        ));
    };
    // mantissa * multiplier / 10^scale, rounded half up, without overflow:
    // the mantissa has at most 18 digits and the multiplier at most 10^9.
    let divisor = 10u128.pow(scale);
    let value = (mantissa * multiplier as u128 + divisor / 2) / divisor;
    u64::try_from(value).map_err(|_| format!("{what} `{text}` is too large"))
}

/// `12.345` → (12345, 3). At most 18 digits; no sign, no exponent.
fn parse_decimal(text: &str) -> Option<(u128, u32)> {
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    let digits = whole.len() + fraction.len();
    if digits == 0 || digits > 18 || whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole
        .chars()
        .chain(fraction.chars())
        .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    if text.ends_with('.') {
        return None;
    }
    let mantissa: u128 = format!("{whole}{fraction}").parse().ok()?;
    Some((mantissa, fraction.len() as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidths() {
        assert_eq!(parse_bandwidth("1Gbps"), Ok(1_000_000_000));
        assert_eq!(parse_bandwidth("100Mbps"), Ok(100_000_000));
        assert_eq!(parse_bandwidth("1.5Mbps"), Ok(1_500_000));
        assert_eq!(parse_bandwidth("1.1Mbps"), Ok(1_100_000));
        assert_eq!(parse_bandwidth("64 Kbps"), Ok(64_000));
        assert_eq!(parse_bandwidth("9600bps"), Ok(9600));
        assert!(parse_bandwidth("100").unwrap_err().contains("no unit"));
        assert!(parse_bandwidth("100MBps")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_bandwidth("0Mbps").is_err());
        assert!(parse_bandwidth("2000Gbps").is_err());
        assert!(parse_bandwidth("-1Mbps").is_err());
        assert!(parse_bandwidth("fast").is_err());
        assert!(parse_bandwidth("1e3Mbps").is_err());
        assert!(parse_bandwidth("99999999999999999999999Gbps").is_err());
    }

    #[test]
    fn delays() {
        assert_eq!(parse_delay("100us"), Ok(100_000));
        assert_eq!(parse_delay("1ms"), Ok(1_000_000));
        assert_eq!(parse_delay("2.5ms"), Ok(2_500_000));
        assert_eq!(parse_delay("0.5s"), Ok(500_000_000));
        assert_eq!(parse_delay("0s"), Ok(0));
        assert_eq!(parse_delay("7ns"), Ok(7));
        assert!(parse_delay("10").unwrap_err().contains("ns, us, ms or s"));
        assert!(parse_delay("10 min").is_err());
        assert!(parse_delay("61s").is_err());
        assert!(parse_delay("1.ms").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("0s"), Ok(0));
        assert_eq!(parse_time("5s"), Ok(5_000_000_000));
        assert_eq!(parse_time("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_time("250ms"), Ok(250_000_000));
        assert_eq!(parse_time("2min"), Ok(120_000_000_000));
        assert_eq!(parse_time("24h"), Ok(TIME_NS_MAX));
        assert!(parse_time("25h").unwrap_err().contains("one day"));
        assert!(parse_time("-1s").unwrap_err().contains("negative"));
        assert!(parse_time("5").unwrap_err().contains("no unit"));
        assert!(parse_time("5 days").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("300B"), Ok(300));
        assert_eq!(parse_size("20KB"), Ok(20_000));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("0B"), Ok(0));
        assert!(parse_size("10").unwrap_err().contains("no unit"));
        assert!(parse_size("10mb").unwrap_err().contains("unknown unit"));
        assert!(parse_size("-1MB").unwrap_err().contains("negative"));
        assert!(parse_size("2000GB").unwrap_err().contains("1000GB"));
    }

    #[test]
    fn losses() {
        assert_eq!(parse_loss("0%"), Ok(0.0));
        assert_eq!(parse_loss("50%"), Ok(0.5));
        assert_eq!(parse_loss("0.5"), Ok(0.005));
        assert_eq!(parse_loss("100"), Ok(1.0));
        assert!(parse_loss("101%").is_err());
        assert!(parse_loss("-1%").is_err());
        assert!(parse_loss("lots").is_err());
    }
}
