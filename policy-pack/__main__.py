"""The pulumi-cts policy pack: the seven CTS compliance policies, served as the Pulumi CLI expects.

Run it with `pulumi preview --policy-pack policy-pack` or `pulumi-cts local preview --policy-pack
policy-pack`. To add policies of your own, build the pack from `pulumi_cts.policies.cts_policies()`.
"""

from pulumi_cts.policies import serve

serve()
