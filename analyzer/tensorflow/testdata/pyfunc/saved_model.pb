É

serve–
1
xPlaceholderx:0"/device:CPU:0*
dtype0
-
wConstx:0"/device:CPU:0*
valueB
 
mmMatMulx:0"/device:CPU:0

bConstx:0"/device:CPU:0

addAddx:0"/device:CPU:0
d
StatefulPartitionedCallStatefulPartitionedCallx:0"/device:CPU:0*
fR
__inference_call_42c
a

__inference_call_42
x.
EagerPyFuncEagerPyFuncx:0"/device:CPU:0"
out
y:output:0"µ	
saver_filename:0*
serving_default