//! Splitting an amount over parts in proportion to their weights, by largest remainder, so the
//! shares add up to the amount exactly.

/// Shares of `amount` proportional to `weights` (non-negative), summing to `amount`. Each part
/// gets the floor of its exact share; the units left over go one each to the parts with the
/// largest fractional remainders (the earlier part on a tie). All zero when the weights are.
pub fn largest_remainder(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|w| i128::from(*w.max(&0))).sum();
    if total == 0 || amount == 0 {
        return vec![0; weights.len()];
    }
    let amount = i128::from(amount);
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = amount * i128::from(*w.max(&0));
        shares.push(exact.div_euclid(total));
        remainders.push((exact.rem_euclid(total), i));
    }
    let mut left = amount - shares.iter().sum::<i128>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares.into_iter().map(|s| s as i64).collect()
}

#[cfg(test)]
mod tests {
    use super::largest_remainder;

    #[test]
    fn shares_add_up_and_the_leftover_goes_to_the_largest_remainders() {
        assert_eq!(largest_remainder(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(largest_remainder(10, &[500, 300, 200]), vec![5, 3, 2]);
        assert_eq!(largest_remainder(7, &[1000, 2000]), vec![2, 5]);
        assert_eq!(largest_remainder(5, &[0, 0]), vec![0, 0]);
        assert_eq!(largest_remainder(0, &[3, 4]), vec![0, 0]);
    }
}
