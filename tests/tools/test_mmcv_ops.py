"""mmcv's compiled ops work on this CPU with known results."""
import torch
from mmcv.ops import nms, roi_align


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    torch.testing.assert_close(dets[:, 4], torch.tensor([0.9, 0.7]))


def test_nms_keeps_boxes_below_the_iou_threshold():
    boxes = torch.tensor([[0., 0., 10., 10.], [5., 0., 15., 10.]])  # IoU 1/3
    _, keep = nms(boxes, torch.tensor([0.9, 0.8]), iou_threshold=0.5)
    assert keep.tolist() == [0, 1]


def test_roi_align_averages_a_linear_ramp():
    # feature value = x coordinate; a box's mean is its centre's x
    feat = torch.arange(16.).repeat(16, 1)[None, None]
    rois = torch.tensor([[0., 2., 2., 10., 10.]])
    out = roi_align(feat, rois, (2, 2), 1.0, 2, 'avg', True)
    assert out.shape == (1, 1, 2, 2)
    # aligned=True shifts by half a pixel: bins centred at x = 3.5 and 7.5
    torch.testing.assert_close(out[0, 0, 0], torch.tensor([3.5, 7.5]))
    torch.testing.assert_close(out[0, 0, 1], torch.tensor([3.5, 7.5]))


def test_roi_align_has_gradients():
    feat = torch.rand(1, 2, 8, 8, requires_grad=True)
    out = roi_align(feat, torch.tensor([[0., 1., 1., 6., 6.]]), (3, 3), 1.0,
                    2, 'avg', True)
    out.sum().backward()
    assert feat.grad.abs().sum() > 0
