"""NAB's published per-file scores, to cross-check the scorer against NAB itself.

``WINDOWED_GAUSSIAN_STANDARD``: the per-file raw scores of NAB's ``windowedGaussian``
detector under the standard profile at its optimised threshold (1.0), from numenta/NAB
``results/windowedGaussian/windowedGaussian_standard_scores.csv`` (commit 487c0f97),
for the files of the subset in ../shared/datasets/nab. NAB scored the anomaly scores
as its detectors wrote them to CSV, with 12 significant digits; ``nab.nab_rounded``
does the same before the comparison.
"""

WINDOWED_GAUSSIAN_THRESHOLD = 1.0

WINDOWED_GAUSSIAN_STANDARD = {
    "artificialNoAnomaly/art_daily_no_noise.csv": 0.0,
    "artificialNoAnomaly/art_daily_perfect_square_wave.csv": 0.0,
    "artificialNoAnomaly/art_daily_small_noise.csv": 0.0,
    "artificialNoAnomaly/art_flatline.csv": 0.0,
    "artificialNoAnomaly/art_noisy.csv": 0.0,
    "artificialWithAnomaly/art_daily_flatmiddle.csv": -1.0,
    "artificialWithAnomaly/art_daily_jumpsdown.csv": -1.0,
    "artificialWithAnomaly/art_daily_jumpsup.csv": -1.0,
    "artificialWithAnomaly/art_daily_nojump.csv": -1.0,
    "artificialWithAnomaly/art_increase_spike_density.csv": -1.0,
    "artificialWithAnomaly/art_load_balancer_spikes.csv": -0.6924446095227346,
    "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv": -1.266678759349383,
    "realAWSCloudwatch/ec2_cpu_utilization_53ea38.csv": -0.14142319611668508,
    "realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv": -2.0,
    "realAWSCloudwatch/ec2_cpu_utilization_77c1ca.csv": -1.0,
    "realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv": -1.0,
    "realAWSCloudwatch/ec2_cpu_utilization_ac20cd.csv": 0.8606718242697022,
    "realAWSCloudwatch/ec2_cpu_utilization_c6585a.csv": -1.3200000000000003,
    "realAWSCloudwatch/ec2_cpu_utilization_fe7f93.csv": 0.6387577917723906,
    "realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv": -4.190896785522053,
    "realAWSCloudwatch/ec2_disk_write_bytes_c0d644.csv": -1.0959985303155564,
    "realAWSCloudwatch/ec2_network_in_257a54.csv": 0.8606718242697022,
    "realAWSCloudwatch/ec2_network_in_5abac7.csv": -3.5219322351911635,
    "realAWSCloudwatch/elb_request_count_8c0756.csv": -0.13844919792440225,
    "realAWSCloudwatch/grok_asg_anomaly.csv": -1.247930964293478,
    "realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv": -2.0,
    "realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv": -0.13844919792440225,
    "realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv": -0.13844919792440225,
    "realKnownCause/ambient_temperature_system_failure.csv": -2.0,
    "realKnownCause/cpu_utilization_asg_misconfiguration.csv": -1.11,
    "realKnownCause/ec2_request_latency_system_failure.csv": -0.06591011872780705,
    "realKnownCause/machine_temperature_system_failure.csv": -4.0,
    "realKnownCause/nyc_taxi.csv": -5.0,
    "realKnownCause/rogue_agent_key_hold.csv": -2.44,
    "realKnownCause/rogue_agent_key_updown.csv": -1.3964908955014117,
}
