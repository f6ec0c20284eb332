//! Business time for the SLA clock: office hours in Europe/Amsterdam on
//! working days, minus Dutch public holidays. SLA targets are in business
//! hours: a ticket filed on Friday at 16:30 with a 4-hour target is due on
//! Monday at 12:00 (with office hours 08:30-17:00), and on Tuesday when that
//! Monday is Easter Monday.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    tz: Tz,
    open: NaiveTime,
    close: NaiveTime,
}

impl BusinessCalendar {
    pub fn new(tz: Tz, open: NaiveTime, close: NaiveTime) -> Self {
        assert!(open < close, "office opens before it closes");
        Self { tz, open, close }
    }

    /// Europe/Amsterdam, 08:30-17:00.
    pub fn amsterdam_default() -> Self {
        Self::new(
            chrono_tz::Europe::Amsterdam,
            NaiveTime::from_hms_opt(8, 30, 0).expect("valid"),
            NaiveTime::from_hms_opt(17, 0, 0).expect("valid"),
        )
    }

    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !is_dutch_holiday(date)
    }

    fn at(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let local = date.and_time(time);
        // A local time in a DST gap does not exist (some zones switch at
        // midnight): take the first hour after it that does.
        (0..=3)
            .find_map(|h| {
                self.tz
                    .from_local_datetime(&(local + Duration::hours(h)))
                    .earliest()
            })
            .expect("no DST gap is longer than three hours")
            .with_timezone(&Utc)
    }

    /// The business-time window of `date`, if it is a business day.
    fn window(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.is_business_day(date)
            .then(|| (self.at(date, self.open), self.at(date, self.close)))
    }

    /// Monday 00:00 local time of the week `now` is in: the start of the week
    /// against which a key user's agreed hours are counted.
    pub fn week_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let local = now.with_timezone(&self.tz).date_naive();
        let monday = local - Duration::days(local.weekday().num_days_from_monday().into());
        self.at(monday, NaiveTime::MIN)
    }

    /// The instant `amount` of business time after `start`.
    pub fn add(&self, start: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        let mut remaining = amount;
        let mut date = start.with_timezone(&self.tz).date_naive();
        let mut cursor = start;
        // Bounded: a year of days is far beyond any SLA target.
        for _ in 0..3660 {
            if let Some((open, close)) = self.window(date) {
                let from = cursor.max(open);
                if from < close {
                    let available = close - from;
                    if remaining <= available {
                        return from + remaining;
                    }
                    remaining -= available;
                }
            }
            date = date.succ_opt().expect("date in range");
            cursor = self.at(date, NaiveTime::MIN);
        }
        panic!("SLA target of {amount} does not fit in ten years of business days")
    }

    /// Business time between `from` and `to` (zero when `to` is earlier).
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        if to <= from {
            return total;
        }
        let mut date = from.with_timezone(&self.tz).date_naive();
        let last = to.with_timezone(&self.tz).date_naive();
        while date <= last {
            if let Some((open, close)) = self.window(date) {
                let (a, b) = (from.max(open), to.min(close));
                if a < b {
                    total += b - a;
                }
            }
            date = date.succ_opt().expect("date in range");
        }
        total
    }
}

/// SLA targets in business hours per priority, from `[sla]` in the config.
#[derive(Debug, Clone)]
pub struct Sla {
    pub calendar: BusinessCalendar,
    /// LOW, MEDIUM, HIGH, CRITICAL.
    pub response_hours: [u32; 4],
    pub resolution_hours: [u32; 4],
}

impl Sla {
    pub fn from_config(config: &crate::config::Config) -> Self {
        let sla = &config.sla;
        let four = |v: &[u32]| [v[0], v[1], v[2], v[3]];
        Self {
            calendar: BusinessCalendar::new(
                sla.tz().expect("validated at load"),
                sla.open().expect("validated at load"),
                sla.close().expect("validated at load"),
            ),
            response_hours: four(&sla.response_hours),
            resolution_hours: four(&sla.resolution_hours),
        }
    }

    /// Index of a stored priority (LOW..CRITICAL); unknown counts as MEDIUM.
    fn index(priority: &str) -> usize {
        match priority {
            "LOW" => 0,
            "HIGH" => 2,
            "CRITICAL" => 3,
            _ => 1,
        }
    }

    /// When the holder of a ticket of `priority` must respond, counting from `from`.
    pub fn response_due(&self, priority: &str, from: DateTime<Utc>) -> DateTime<Utc> {
        let hours = self.response_hours[Self::index(priority)];
        self.calendar.add(from, Duration::hours(hours.into()))
    }

    pub fn resolution_due(&self, priority: &str, from: DateTime<Utc>) -> DateTime<Utc> {
        let hours = self.resolution_hours[Self::index(priority)];
        self.calendar.add(from, Duration::hours(hours.into()))
    }
}

/// Easter Sunday (Gregorian), by the anonymous Gregorian algorithm.
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("valid Easter date")
}

/// The days Dutch offices are closed: New Year's Day, Easter Sunday and
/// Monday, King's Day (27 April, 26 April when the 27th is a Sunday),
/// Liberation Day (5 May; a day off in the housing corporations' collective
/// agreement every year), Ascension Day, Whit Sunday and Monday, Christmas
/// Day and Boxing Day. Good Friday is not a general day off.
pub fn is_dutch_holiday(date: NaiveDate) -> bool {
    let year = date.year();
    let fixed = |m, d| NaiveDate::from_ymd_opt(year, m, d).expect("valid");
    let kings_day = {
        let day = fixed(4, 27);
        if day.weekday() == Weekday::Sun {
            fixed(4, 26)
        } else {
            day
        }
    };
    let easter = easter_sunday(year);
    let after_easter = |days| easter + Duration::days(days);
    [
        fixed(1, 1),
        easter,
        after_easter(1),
        kings_day,
        fixed(5, 5),
        after_easter(39),
        after_easter(49),
        after_easter(50),
        fixed(12, 25),
        fixed(12, 26),
    ]
    .contains(&date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ams(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Europe::Amsterdam
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn easter_dates() {
        assert_eq!(easter_sunday(2024), date(2024, 3, 31));
        assert_eq!(easter_sunday(2025), date(2025, 4, 20));
        assert_eq!(easter_sunday(2026), date(2026, 4, 5));
        assert_eq!(easter_sunday(2027), date(2027, 3, 28));
    }

    #[test]
    fn dutch_holidays() {
        // 2026: Easter Monday 6 April, King's Day Monday 27 April,
        // Ascension 14 May, Whit Monday 25 May.
        for d in [
            date(2026, 1, 1),
            date(2026, 4, 6),
            date(2026, 4, 27),
            date(2026, 5, 5),
            date(2026, 5, 14),
            date(2026, 5, 25),
            date(2026, 12, 25),
            date(2026, 12, 28).pred_opt().unwrap().pred_opt().unwrap(),
        ] {
            assert!(is_dutch_holiday(d), "{d}");
        }
        // King's Day 2025 fell on a Sunday: celebrated on Saturday 26 April.
        assert!(is_dutch_holiday(date(2025, 4, 26)));
        assert!(!is_dutch_holiday(date(2025, 4, 27)));
        assert!(
            !is_dutch_holiday(date(2026, 4, 3)),
            "Good Friday is a working day"
        );
        assert!(!is_dutch_holiday(date(2026, 11, 27)));
    }

    #[test]
    fn adding_business_hours_skips_nights_weekends_and_holidays() {
        let cal = BusinessCalendar::amsterdam_default();
        // Within one day.
        assert_eq!(
            cal.add(ams(2026, 11, 24, 9, 0), Duration::hours(4)),
            ams(2026, 11, 24, 13, 0)
        );
        // Friday 16:30 + 4h: 30 min on Friday, 3.5h on Monday.
        assert_eq!(
            cal.add(ams(2026, 11, 27, 16, 30), Duration::hours(4)),
            ams(2026, 11, 30, 12, 0)
        );
        // Filed at night: the clock starts at opening time.
        assert_eq!(
            cal.add(ams(2026, 11, 24, 22, 0), Duration::hours(1)),
            ams(2026, 11, 25, 9, 30)
        );
        // Thursday 2 April 2026, 16:00 + 2h: Good Friday works, Easter Monday does not.
        assert_eq!(
            cal.add(ams(2026, 4, 2, 16, 0), Duration::hours(2)),
            ams(2026, 4, 3, 9, 30)
        );
        assert_eq!(
            cal.add(ams(2026, 4, 3, 16, 0), Duration::hours(2)),
            ams(2026, 4, 7, 9, 30)
        );
        // Across the switch to summer time (29 March 2026): still 08:30 local.
        assert_eq!(
            cal.add(ams(2026, 3, 27, 16, 0), Duration::hours(2)),
            ams(2026, 3, 30, 9, 30)
        );
    }

    #[test]
    fn a_zone_that_skips_midnight_does_not_break_the_clock() {
        // Santiago skips 00:00-01:00 when summer time starts (6 September 2026).
        let cal = BusinessCalendar::new(
            chrono_tz::America::Santiago,
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
        );
        let saturday = chrono_tz::America::Santiago
            .with_ymd_and_hms(2026, 9, 5, 12, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let monday_ten = chrono_tz::America::Santiago
            .with_ymd_and_hms(2026, 9, 7, 10, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(cal.add(saturday, Duration::hours(1)), monday_ten);
        let _ = cal.week_start(saturday);
    }

    #[test]
    fn business_time_between_two_instants() {
        let cal = BusinessCalendar::amsterdam_default();
        assert_eq!(
            cal.between(ams(2026, 11, 27, 16, 0), ams(2026, 11, 30, 10, 0)),
            Duration::minutes(150)
        );
        assert_eq!(
            cal.between(ams(2026, 11, 28, 10, 0), ams(2026, 11, 29, 10, 0)),
            Duration::zero()
        );
        let start = ams(2026, 4, 2, 11, 0);
        let end = cal.add(start, Duration::hours(13));
        assert_eq!(cal.between(start, end), Duration::hours(13));
    }
}
