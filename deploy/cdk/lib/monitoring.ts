// What an operator of randapi looks at: alarms that fire on an outage (from AWS's own metrics,
// and from randapi's EMF metrics with missing data counted as breaching where silence means no
// task is writing them), and the dashboard to open first. docs/operations.md lists exactly this.
import { Duration, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** The metrics randapi writes as CloudWatch Embedded Metric Format (src/metrics.rs). */
export const METRIC_NAMESPACE = 'randapi';
export const METRIC_DIMENSIONS = { Service: 'randapi' } as const;

export interface MonitoringProps {
  readonly service: ecs.FargateService;
  readonly cluster: ecs.Cluster;
  readonly stage: apigwv2.IHttpStage;
  /** Where alarms notify, on ALARM and on OK. Default: nowhere (they still show in the console). */
  readonly alarmTopic?: sns.ITopic;
}

/** randapi's own metric (namespace `randapi`, dimension Service=randapi). */
export function emf(metricName: string, statistic: string = cloudwatch.Stats.SUM, period = Duration.minutes(5)) {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { ...METRIC_DIMENSIONS },
    statistic,
    period,
  });
}

export class Monitoring extends Construct {
  public readonly gateway5xxAlarm: cloudwatch.Alarm;
  public readonly noRunningTaskAlarm: cloudwatch.Alarm;
  public readonly keySetUnavailableAlarm: cloudwatch.Alarm;
  public readonly jwksFetchFailuresAlarm: cloudwatch.Alarm;
  public readonly dashboard: cloudwatch.Dashboard;

  public get alarms(): cloudwatch.Alarm[] {
    return [this.gateway5xxAlarm, this.noRunningTaskAlarm, this.keySetUnavailableAlarm, this.jwksFetchFailuresAlarm];
  }

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const prefix = `${Stack.of(this).stackName}-randapi`;
    const { service, cluster, stage } = props;

    // ----- The gateway's own view: it answers 5xx when no task is reachable (VPC link, Cloud Map,
    // no healthy task) and when randapi answers 5xx. HTTP API metrics: AWS/ApiGateway with the
    // ApiId and Stage dimensions, names `Count`, `5xx`, `Latency`.
    const gw = (metricName: string, statistic: string, period = Duration.minutes(5)) =>
      stage.metric(metricName, { statistic, period });
    this.gateway5xxAlarm = new cloudwatch.Alarm(this, 'Gateway5xxRate', {
      alarmName: `${prefix}-gateway-5xx-rate`,
      alarmDescription:
        'randapi: the HTTP API answered 5xx to more than 5 % of at least 10 requests in 5 minutes ' +
        '(tasks unreachable through the VPC link or Cloud Map, or randapi failing).',
      metric: new cloudwatch.MathExpression({
        expression: 'IF(requests >= 10, 100 * errors / requests, 0)',
        usingMetrics: { requests: gw('Count', cloudwatch.Stats.SUM), errors: gw('5xx', cloudwatch.Stats.SUM) },
        period: Duration.minutes(5),
        label: 'gateway 5xx (% of requests)',
      }),
      threshold: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No requests, no datapoint: an idle API is not an outage. The task alarm covers a dead one.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // ----- No task running, from Container Insights (the cluster has it on). Missing data is an
    // outage too: no task, no Container Insights datapoint.
    const insights = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'ECS/ContainerInsights',
        metricName,
        dimensionsMap: { ClusterName: cluster.clusterName, ServiceName: service.serviceName },
        statistic,
        period: Duration.minutes(1),
      });
    const runningTasks = insights('RunningTaskCount', cloudwatch.Stats.MINIMUM);
    this.noRunningTaskAlarm = new cloudwatch.Alarm(this, 'NoRunningTask', {
      alarmName: `${prefix}-no-running-task`,
      alarmDescription: 'randapi: no task running (or no Container Insights data) for 3 consecutive minutes.',
      metric: runningTasks,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    // ----- randapi's own metrics. Every EMF line carries these counters (zero when nothing
    // happened), once a minute per task: a period without a datapoint means no task is writing
    // them, so missing data is breaching.
    //
    // KeySetUnavailable counts the 503s given because there is no usable key set at all: every
    // token fails, an outage. It is not Responses503, which also counts the 503s for an unknown
    // kid while the JWKS cannot be fetched (UnknownKeyWhileJwksDown): a key rotation, or anyone
    // sending made-up kids during a JWKS blip, which must not page anyone.
    this.keySetUnavailableAlarm = new cloudwatch.Alarm(this, 'KeySetUnavailable', {
      alarmName: `${prefix}-key-set-unavailable`,
      alarmDescription:
        'randapi: more than 5 % of at least 20 requests in 5 minutes got 503 because no usable Cognito key set is ' +
        'loaded (every token fails), or no task wrote metrics for 5 minutes.',
      metric: new cloudwatch.MathExpression({
        expression: 'IF(requests >= 20, 100 * unavailable / requests, 0)',
        usingMetrics: { requests: emf('Requests'), unavailable: emf('KeySetUnavailable') },
        period: Duration.minutes(5),
        label: '503 for lack of keys (% of requests)',
      }),
      threshold: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    // One failed fetch is noise (a retry follows, known keys stay in use); failures in 2 of 3
    // consecutive 5-minute periods mean the keys cannot be refreshed.
    this.jwksFetchFailuresAlarm = new cloudwatch.Alarm(this, 'JwksFetchFailures', {
      alarmName: `${prefix}-jwks-fetch-failures`,
      alarmDescription:
        'randapi: JWKS fetches failed in 2 of 3 consecutive 5-minute periods (Cognito unreachable from the tasks), ' +
        'or no task wrote metrics.',
      metric: emf('JwksFetchFailures'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    if (props.alarmTopic) {
      const action = new cloudwatchActions.SnsAction(props.alarmTopic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }

    // ----- The dashboard an operator opens first.
    const minute = Duration.minutes(1);
    const sum = (name: string, label: string) => emf(name, cloudwatch.Stats.SUM, minute).with({ label });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: prefix,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'randapi: requests and answers by class (per minute)',
        width: 12,
        left: [
          sum('Requests', 'requests'),
          sum('Responses2xx', '2xx'),
          sum('Responses4xx', '4xx'),
          sum('Responses5xx', '5xx'),
          sum('KeySetUnavailable', '503 no key set'),
          sum('UnknownKeyWhileJwksDown', '503 unknown kid, JWKS down'),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Gateway: requests, 4xx, 5xx (per minute)',
        width: 12,
        left: [
          gw('Count', cloudwatch.Stats.SUM, minute).with({ label: 'requests' }),
          gw('4xx', cloudwatch.Stats.SUM, minute).with({ label: '4xx' }),
          gw('5xx', cloudwatch.Stats.SUM, minute).with({ label: '5xx' }),
        ],
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Gateway latency (ms)',
        width: 8,
        left: [
          gw('Latency', cloudwatch.Stats.p(50), minute).with({ label: 'p50' }),
          gw('Latency', cloudwatch.Stats.p(99), minute).with({ label: 'p99' }),
          gw('IntegrationLatency', cloudwatch.Stats.p(99), minute).with({ label: 'integration p99' }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Tasks',
        width: 8,
        left: [
          runningTasks.with({ label: 'running' }),
          insights('DesiredTaskCount', cloudwatch.Stats.MAXIMUM).with({ label: 'desired' }),
        ],
        leftYAxis: { min: 0 },
      }),
      new cloudwatch.GraphWidget({
        title: 'Token cache hit ratio (%)',
        width: 8,
        left: [
          new cloudwatch.MathExpression({
            expression: 'IF(hits + misses > 0, 100 * hits / (hits + misses), 100)',
            usingMetrics: {
              hits: emf('TokenCacheHits', cloudwatch.Stats.SUM, minute),
              misses: emf('TokenCacheMisses', cloudwatch.Stats.SUM, minute),
            },
            period: minute,
            label: 'hit ratio',
          }),
        ],
        leftYAxis: { min: 0, max: 100 },
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'JWKS: key set age (s) and fetches',
        width: 12,
        left: [emf('KeySetAgeSeconds', cloudwatch.Stats.MAXIMUM, minute).with({ label: 'key set age (max)' })],
        right: [sum('JwksFetchOk', 'fetches ok'), sum('JwksFetchFailures', 'fetches failed')],
      }),
      new cloudwatch.GraphWidget({
        title: 'Open client connections',
        width: 12,
        // One EMF line per task per minute: the Sum over a minute is the total of all tasks.
        left: [
          emf('OpenConnections', cloudwatch.Stats.SUM, minute).with({ label: 'all tasks' }),
          emf('OpenConnections', cloudwatch.Stats.MAXIMUM, minute).with({ label: 'busiest task' }),
        ],
      }),
    );
  }
}
